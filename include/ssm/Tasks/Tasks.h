//===- Tasks.h - the research tasks of tasks.md -----------------*- C++ -*-===//
//
// The recall, memory and approximation tasks the runner exists for
// (../shared/spec/tasks.md): each generates seeded inputs, builds its model
// with fixed weights through the public builders (Runtime/Programs.h),
// compiles and runs it, scores it and returns a table whose rows say the
// expected value and PASS or FAIL. `ssm-run task` prints it; the Python
// bindings return it as data.
//
//===----------------------------------------------------------------------===//

#ifndef SSM_TASKS_TASKS_H
#define SSM_TASKS_TASKS_H

#include "ssm/Runtime/Jit.h"
#include "ssm/Tasks/Plot.h"

#include "llvm/ADT/StringMap.h"
#include "llvm/Support/Error.h"

#include <functional>
#include <optional>
#include <string>
#include <vector>

namespace mlir::ssm::tasks {

/// One option of a task: `--name value` (or a flag) on the command line, a
/// keyword argument in Python.
struct TaskOption {
  std::string name;
  std::string defaultValue; ///< empty for flags and options without one
  std::string help;
  bool flag = false;
};

/// What one run of a task found: a table (parameters, the measured value,
/// the expected value, PASS/FAIL) and one machine-readable line per result
/// (`accuracy=...`, `rms_s6=... rms_s4d=...`, `max_err=...`).
struct TaskReport {
  std::string title;
  std::vector<std::string> columns; ///< the last one is "result"
  std::vector<std::vector<std::string>> rows;
  std::vector<std::string> lines;
  /// The curves that say most about the result (`--plot`), one per panel.
  std::vector<Plot> plots;
  bool passed = true;
  double wallSeconds = 0;
  std::string target = "cpu";

  /// Appends a row; `pass` decides its PASS/FAIL cell and the verdict. A
  /// row without an expected value (std::nullopt) reads "-" there.
  void addRow(std::vector<std::string> cells, std::optional<bool> pass);
  /// The table, aligned, with the target and wall time under it.
  std::string table() const;
  /// The table as CSV (RFC 4180 quoting).
  std::string csv() const;
};

/// Where a task is: called with a short line ("L=4096 K=64: 3/8 batches")
/// now and then; the runner prints it as a progress display.
using Progress = std::function<void(const std::string &)>;

/// The options of one run, as given, checked against the task's
/// TaskOption list by runTask.
class TaskArgs {
public:
  TaskArgs(const llvm::StringMap<std::string> &values,
           const std::vector<TaskOption> &options)
      : values(values), options(options) {}
  std::string str(llvm::StringRef name) const;
  bool flag(llvm::StringRef name) const;
  llvm::Expected<int64_t> integer(llvm::StringRef name, int64_t min) const;
  /// A comma-separated list of integers >= `min`, e.g. "64,256,1024".
  llvm::Expected<std::vector<int64_t>> integers(llvm::StringRef name,
                                                int64_t min) const;

private:
  const llvm::StringMap<std::string> &values;
  const std::vector<TaskOption> &options;
};

struct TaskContext {
  JitOptions jit;
  Progress progress = [](const std::string &) {};
};

struct TaskInfo {
  std::string name;
  std::string summary;
  std::vector<TaskOption> options;
  std::function<llvm::Expected<TaskReport>(const TaskArgs &, TaskContext &)>
      run;
};

/// Every task, in the order tasks.md lists them.
const std::vector<TaskInfo> &allTasks();

/// The task called `name`, or an error that names it and lists the tasks.
llvm::Expected<const TaskInfo *> findTask(llvm::StringRef name);

/// Runs task `name` with `options` (name -> value; flags map to "").
/// Unknown tasks and options, and values that do not parse, are errors that
/// name them.
llvm::Expected<TaskReport> runTask(llvm::StringRef name,
                                   const llvm::StringMap<std::string> &options,
                                   TaskContext &context);

} // namespace mlir::ssm::tasks

#endif // SSM_TASKS_TASKS_H
