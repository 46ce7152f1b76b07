//===- Plot.h - line plots of task results as PNG images --------*- C++ -*-===//
//
// `ssm-run task ... --plot FILE.png` draws the curve that says most about a
// task (tasks.md): accuracy against length, reconstructions, error against
// degree. The runner has no plotting library to lean on (no PyPI, and a
// compiler tool should not start Python to draw), so this is a small
// rasteriser of its own: panels of line plots with ticks, labels and a
// legend, anti-aliased, written as an 8-bit RGB PNG.
//
//===----------------------------------------------------------------------===//

#ifndef SSM_TASKS_PLOT_H
#define SSM_TASKS_PLOT_H

#include <cstdint>
#include <string>
#include <vector>

namespace mlir::ssm::tasks {

/// One curve: points (x[i], y[i]) joined by lines, with markers when there
/// are few of them. Points that a log axis cannot show (<= 0) or that are
/// not finite are left out.
struct PlotSeries {
  std::string name;
  std::vector<double> x, y;
};

/// One panel: axes, a title, axis labels and a legend of its series.
struct Plot {
  std::string title, xLabel, yLabel;
  bool logX = false, logY = false;
  std::vector<PlotSeries> series;
};

/// The panels as one PNG image, two panels per row.
std::vector<uint8_t> renderPng(const std::vector<Plot> &panels);

} // namespace mlir::ssm::tasks

#endif // SSM_TASKS_PLOT_H
