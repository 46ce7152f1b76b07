//===- TaskReportTest.cpp - task tables, CSV and verdicts ------------------===//

#include "ssm/Tasks/Tasks.h"

#include "gtest/gtest.h"

using namespace mlir::ssm::tasks;

namespace {

TaskReport sample() {
  TaskReport r;
  r.title = "demo";
  r.columns = {"L", "note", "result"};
  return r;
}

TEST(TaskReport, VerdictFollowsRows) {
  TaskReport r = sample();
  r.addRow({"4", "a"}, true);
  r.addRow({"8", "no expectation"}, std::nullopt);
  EXPECT_TRUE(r.passed);
  r.addRow({"16", "b"}, false);
  EXPECT_FALSE(r.passed);
  // A later passing row does not undo a failure.
  r.addRow({"32", "c"}, true);
  EXPECT_FALSE(r.passed);
  EXPECT_EQ(r.rows[1].back(), "-");
  EXPECT_EQ(r.rows[2].back(), "FAIL");
}

TEST(TaskReport, TableAlignsColumnsAndStatesTheVerdict) {
  TaskReport r = sample();
  r.addRow({"1024", "x"}, true);
  std::string t = r.table();
  EXPECT_NE(t.find("demo\n"), std::string::npos);
  EXPECT_NE(t.find("  L     note  result\n"), std::string::npos);
  EXPECT_NE(t.find("  1024  x     PASS  \n"), std::string::npos);
  EXPECT_NE(t.find("verdict: PASS"), std::string::npos);
}

TEST(TaskReport, CsvQuotesCommasAndQuotes) {
  TaskReport r = sample();
  r.addRow({"4", "a, \"b\""}, false);
  EXPECT_EQ(r.csv(), "L,note,result\n4,\"a, \"\"b\"\"\",FAIL\n");
}

TEST(Tasks, UnknownTaskAndOptionAreNamed) {
  TaskContext ctx;
  llvm::StringMap<std::string> none;
  auto r = runTask("nosuch", none, ctx);
  ASSERT_FALSE(static_cast<bool>(r));
  EXPECT_NE(llvm::toString(r.takeError()).find("unknown task 'nosuch'"),
            std::string::npos);
  llvm::StringMap<std::string> bad;
  bad["vocab"] = "16";
  auto r2 = runTask("induction", bad, ctx);
  ASSERT_FALSE(static_cast<bool>(r2));
  EXPECT_NE(llvm::toString(r2.takeError())
                .find("task 'induction' has no option '--vocab'"),
            std::string::npos);
}

} // namespace
