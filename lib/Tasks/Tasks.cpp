//===- Tasks.cpp - task registry, options and reports ---------------------===//

#include "ssm/Tasks/Tasks.h"
#include "TaskModels.h"

#include "llvm/ADT/StringExtras.h"
#include "llvm/Support/Format.h"
#include "llvm/Support/raw_ostream.h"

#include <algorithm>
#include <cassert>
#include <chrono>

using namespace mlir::ssm;
using namespace mlir::ssm::tasks;

void TaskReport::addRow(std::vector<std::string> cells,
                        std::optional<bool> pass) {
  cells.push_back(!pass ? "-" : *pass ? "PASS" : "FAIL");
  assert(cells.size() == columns.size() && "a cell per column");
  rows.push_back(std::move(cells));
  passed = passed && pass.value_or(true);
}

std::string TaskReport::table() const {
  std::vector<size_t> width(columns.size(), 0);
  for (size_t c = 0; c < columns.size(); ++c) {
    width[c] = columns[c].size();
    for (const auto &row : rows)
      width[c] = std::max(width[c], row[c].size());
  }
  std::string out;
  llvm::raw_string_ostream os(out);
  os << title << "\n";
  auto line = [&](const std::vector<std::string> &cells) {
    for (size_t c = 0; c < cells.size(); ++c)
      os << "  " << llvm::left_justify(cells[c], width[c]);
    os << "\n";
  };
  line(columns);
  std::vector<std::string> rule;
  for (size_t w : width)
    rule.push_back(std::string(w, '-'));
  line(rule);
  for (const auto &row : rows)
    line(row);
  os << llvm::format("  target: %s   wall time: %.2f s   verdict: %s\n",
                     target.c_str(), wallSeconds, passed ? "PASS" : "FAIL");
  return out;
}

static std::string csvCell(const std::string &cell) {
  if (cell.find_first_of(",\"\n") == std::string::npos)
    return cell;
  std::string quoted = "\"";
  for (char c : cell)
    quoted += c == '"' ? std::string("\"\"") : std::string(1, c);
  return quoted + "\"";
}

std::string TaskReport::csv() const {
  std::string out;
  auto line = [&](const std::vector<std::string> &cells) {
    for (size_t c = 0; c < cells.size(); ++c)
      out += (c ? "," : "") + csvCell(cells[c]);
    out += "\n";
  };
  line(columns);
  for (const auto &row : rows)
    line(row);
  return out;
}

std::string TaskArgs::str(llvm::StringRef name) const {
  if (auto it = values.find(name); it != values.end())
    return it->second;
  for (const TaskOption &o : options)
    if (o.name == name)
      return o.defaultValue;
  llvm::report_fatal_error("task option not declared: " + name);
}

bool TaskArgs::flag(llvm::StringRef name) const { return values.count(name); }

static llvm::Error badValue(llvm::StringRef name, llvm::StringRef value,
                            llvm::StringRef expected) {
  return llvm::createStringError("option '--%s': expected %s, got '%s'",
                                 name.str().c_str(), expected.str().c_str(),
                                 value.str().c_str());
}

llvm::Expected<int64_t> TaskArgs::integer(llvm::StringRef name,
                                          int64_t min) const {
  std::string v = str(name);
  int64_t n;
  if (llvm::StringRef(v).trim().getAsInteger(10, n) || n < min)
    return badValue(name, v, "an integer >= " + std::to_string(min));
  return n;
}

llvm::Expected<std::vector<int64_t>> TaskArgs::integers(llvm::StringRef name,
                                                        int64_t min) const {
  std::string v = str(name);
  llvm::SmallVector<llvm::StringRef> parts;
  llvm::StringRef(v).split(parts, ',', -1, /*KeepEmpty=*/true);
  std::vector<int64_t> out;
  for (llvm::StringRef part : parts) {
    int64_t n;
    if (part.trim().getAsInteger(10, n) || n < min)
      return badValue(name, v,
                      "integers >= " + std::to_string(min) +
                          ", separated by commas");
    out.push_back(n);
  }
  return out;
}

const std::vector<TaskInfo> &mlir::ssm::tasks::allTasks() {
  static const std::vector<TaskInfo> tasks = {mqarTask(), inductionTask(),
                                              keepNthTask(), haarTask(),
                                              polynomialTask()};
  return tasks;
}

llvm::Expected<const TaskInfo *>
mlir::ssm::tasks::findTask(llvm::StringRef name) {
  std::vector<std::string> names;
  for (const TaskInfo &t : allTasks()) {
    if (t.name == name)
      return &t;
    names.push_back(t.name);
  }
  return llvm::createStringError("unknown task '%s' (tasks: %s)",
                                 name.str().c_str(),
                                 llvm::join(names, ", ").c_str());
}

llvm::Expected<TaskReport>
mlir::ssm::tasks::runTask(llvm::StringRef name,
                          const llvm::StringMap<std::string> &options,
                          TaskContext &context) {
  auto found = findTask(name);
  if (!found)
    return found.takeError();
  const TaskInfo *task = *found;
  for (const auto &entry : options) {
    auto it = llvm::find_if(task->options, [&](const TaskOption &o) {
      return o.name == entry.getKey();
    });
    if (it == task->options.end()) {
      std::vector<std::string> known;
      for (const TaskOption &o : task->options)
        known.push_back("--" + o.name);
      return llvm::createStringError(
          "task '%s' has no option '--%s' (its options: %s)",
          name.str().c_str(), entry.getKey().str().c_str(),
          llvm::join(known, " ").c_str());
    }
    if (it->flag && !entry.getValue().empty())
      return llvm::createStringError("option '--%s' takes no value",
                                     entry.getKey().str().c_str());
  }
  auto start = std::chrono::steady_clock::now();
  TaskArgs args(options, task->options);
  auto report = task->run(args, context);
  if (!report)
    return report.takeError();
  report->target = context.jit.target == Target::NVPTX         ? "nvptx"
                   : context.jit.target == Target::GPUEmulator ? "gpu-emulator"
                                                               : "cpu";
  report->wallSeconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start)
          .count();
  return report;
}
