//===- TaskHelpersTest.cpp - the tasks' scoring helpers -------------------===//
//
// A NaN output must fail a task, not pass it: the error measures keep a NaN
// (std::max drops one) and argmax picks the first NaN, as numpy does.
//
//===----------------------------------------------------------------------===//

#include "../../lib/Tasks/TaskModels.h"

#include "gtest/gtest.h"

#include <cmath>
#include <limits>

using namespace mlir::ssm::tasks;

namespace {

TEST(TaskHelpers, MaxErrorKeepsNaN) {
  double nan = std::numeric_limits<double>::quiet_NaN();
  EXPECT_EQ(maxError(0.5, 0.25), 0.5);
  EXPECT_EQ(maxError(0.25, 0.5), 0.5);
  EXPECT_TRUE(std::isnan(maxError(0.0, nan)));
  EXPECT_TRUE(std::isnan(maxError(nan, 0.0)));
  // A running maximum over errors with a NaN among them stays NaN, so a
  // check `err <= tolerance` fails.
  double err = 0;
  for (double e : {1e-7, nan, 2e-7, 0.0})
    err = maxError(err, e);
  EXPECT_TRUE(std::isnan(err));
  EXPECT_FALSE(err <= 1e-5);
}

TEST(TaskHelpers, ArgmaxFirstOnTiesAndFirstNaN) {
  float nan = std::numeric_limits<float>::quiet_NaN();
  const float ties[] = {1, 3, 3, 2};
  EXPECT_EQ(argmax(ties, 4), 1);
  const float withNaN[] = {1, 5, nan, 7, nan};
  EXPECT_EQ(argmax(withNaN, 5), 2);
  const float one[] = {-2};
  EXPECT_EQ(argmax(one, 1), 0);
}

} // namespace
