//===- Plot.cpp - line plots of task results as PNG images ----------------===//
//
// A canvas of RGB pixels; shapes are drawn with coverage-weighted blending
// (the distance from a pixel centre to a segment or a disc gives its
// coverage), text with a bitmap font generated from DejaVu Sans Mono
// (PlotFont.inc). The PNG is one IDAT chunk of filter-0 rows, compressed
// with zlib when LLVM has it and stored otherwise.
//
//===----------------------------------------------------------------------===//

#include "ssm/Tasks/Plot.h"

#include "llvm/Support/CRC.h"
#include "llvm/Support/Compression.h"
#include "llvm/Support/Format.h"
#include "llvm/Support/raw_ostream.h"

#include <algorithm>
#include <cmath>

using namespace mlir::ssm::tasks;

namespace {

#include "PlotFont.inc"

struct Rgb {
  uint8_t r, g, b;
};

constexpr Rgb kBlack{0, 0, 0}, kGrid{225, 225, 225}, kText{40, 40, 40},
    kWhite{255, 255, 255};
/// Ten well-separated colours (the "tab10" palette's values).
constexpr Rgb kPalette[] = {{31, 119, 180},  {255, 127, 14},  {44, 160, 44},
                            {214, 39, 40},   {148, 103, 189}, {140, 86, 75},
                            {227, 119, 194}, {127, 127, 127}, {188, 189, 34},
                            {23, 190, 207}};

class Canvas {
public:
  Canvas(int width, int height)
      : w(width), h(height), px(size_t(width) * height * 3, 255) {}
  int width() const { return w; }
  int height() const { return h; }
  const std::vector<uint8_t> &pixels() const { return px; }

  /// Blends `c` into pixel (x, y) with weight `a` in [0, 1].
  void blend(int x, int y, Rgb c, double a) {
    if (x < clip[0] || y < clip[1] || x >= clip[2] || y >= clip[3] || a <= 0)
      return;
    a = std::min(a, 1.0);
    uint8_t *p = &px[(size_t(y) * w + x) * 3];
    p[0] = uint8_t(std::lround(p[0] + (c.r - p[0]) * a));
    p[1] = uint8_t(std::lround(p[1] + (c.g - p[1]) * a));
    p[2] = uint8_t(std::lround(p[2] + (c.b - p[2]) * a));
  }
  void fill(int x0, int y0, int x1, int y1, Rgb c) {
    for (int y = y0; y < y1; ++y)
      for (int x = x0; x < x1; ++x)
        blend(x, y, c, 1);
  }
  /// A segment of width `width` between pixel coordinates (x0, y0) and
  /// (x1, y1), anti-aliased.
  void line(double x0, double y0, double x1, double y1, Rgb c, double width) {
    double r = width / 2 + 1;
    int bx0 = int(std::floor(std::min(x0, x1) - r)),
        bx1 = int(std::ceil(std::max(x0, x1) + r)),
        by0 = int(std::floor(std::min(y0, y1) - r)),
        by1 = int(std::ceil(std::max(y0, y1) + r));
    bx0 = std::max(bx0, clip[0]), by0 = std::max(by0, clip[1]);
    bx1 = std::min(bx1, clip[2]), by1 = std::min(by1, clip[3]);
    double dx = x1 - x0, dy = y1 - y0, len2 = dx * dx + dy * dy;
    for (int y = by0; y < by1; ++y)
      for (int x = bx0; x < bx1; ++x) {
        double px = x + 0.5, py = y + 0.5;
        double t = len2 > 0 ? ((px - x0) * dx + (py - y0) * dy) / len2 : 0;
        t = std::clamp(t, 0.0, 1.0);
        double ex = px - (x0 + t * dx), ey = py - (y0 + t * dy);
        double d = std::sqrt(ex * ex + ey * ey);
        blend(x, y, c, width / 2 + 0.5 - d);
      }
  }
  void disc(double cx, double cy, double radius, Rgb c) {
    for (int y = int(cy - radius - 1); y <= int(cy + radius + 1); ++y)
      for (int x = int(cx - radius - 1); x <= int(cx + radius + 1); ++x) {
        double d = std::hypot(x + 0.5 - cx, y + 0.5 - cy);
        blend(x, y, c, radius + 0.5 - d);
      }
  }
  /// Text with its top-left corner at (x, y); `vertical` turns it a
  /// quarter turn anticlockwise, reading upwards from (x, y) as its
  /// bottom-left corner.
  void text(int x, int y, const std::string &s, Rgb c, bool vertical = false) {
    for (size_t i = 0; i < s.size(); ++i) {
      int code = static_cast<unsigned char>(s[i]);
      if (code < 32 || code > 126)
        code = '?';
      const char *glyph = kGlyphs[code - 32];
      for (int gy = 0; gy < kGlyphHeight; ++gy)
        for (int gx = 0; gx < kGlyphWidth; ++gx) {
          char hex = glyph[gy * kGlyphWidth + gx];
          int level = hex <= '9' ? hex - '0' : hex - 'a' + 10;
          int off = int(i) * kGlyphWidth;
          if (vertical)
            blend(x + gy, y - off - gx, c, level / 15.0);
          else
            blend(x + off + gx, y + gy, c, level / 15.0);
        }
    }
  }
  static int textWidth(const std::string &s) {
    return int(s.size()) * kGlyphWidth;
  }
  /// Restricts drawing to [x0, x1) x [y0, y1) until reset.
  void setClip(int x0, int y0, int x1, int y1) {
    clip[0] = std::max(x0, 0), clip[1] = std::max(y0, 0);
    clip[2] = std::min(x1, w), clip[3] = std::min(y1, h);
  }
  void resetClip() { setClip(0, 0, w, h); }

private:
  int w, h;
  std::vector<uint8_t> px;
  int clip[4] = {0, 0, w, h};
};

std::string tickLabel(double v) {
  if (std::abs(v) < 1e-12)
    v = 0; // not "-1e-17" for a tick at zero
  std::string s;
  llvm::raw_string_ostream os(s);
  os << llvm::format("%g", v);
  return s;
}

/// One axis: data range to pixels, linear or log10, and its ticks.
struct Axis {
  bool log = false;
  double lo = 0, hi = 1; // in axis units (log10 of the data on a log axis)

  double unit(double v) const { return log ? std::log10(v) : v; }
  bool shows(double v) const { return std::isfinite(v) && (!log || v > 0); }

  /// Fits the range to `values` with a margin.
  void fit(const std::vector<double> &values) {
    double mn = INFINITY, mx = -INFINITY;
    for (double v : values)
      if (shows(v)) {
        mn = std::min(mn, unit(v));
        mx = std::max(mx, unit(v));
      }
    if (!(mn <= mx)) {
      mn = 0, mx = 1;
    } else if (mx - mn < 1e-12 * std::max(1.0, std::abs(mx))) {
      double pad = log ? 0.5 : std::max(0.5, std::abs(mx) * 0.1);
      mn -= pad, mx += pad;
    }
    double margin = (mx - mn) * 0.05;
    lo = mn - margin, hi = mx + margin;
  }

  /// Tick positions in data units: 1-2-5 steps on a linear axis; powers of
  /// two (short log ranges) or ten on a log axis.
  std::vector<double> ticks() const {
    std::vector<double> out;
    if (log) {
      double decades = hi - lo;
      double base = decades <= 4 ? 2 : 10;
      double step = 1;
      double lb = std::log10(base);
      while ((hi - lo) / (lb * step) > 8)
        step *= 2;
      for (double k = std::ceil(lo / lb / step) * step; k * lb <= hi; k += step)
        out.push_back(std::pow(base, k));
      return out;
    }
    double raw = (hi - lo) / 6, mag = std::pow(10, std::floor(std::log10(raw)));
    double step = mag;
    for (double m : {1.0, 2.0, 5.0, 10.0})
      if (m * mag >= raw) {
        step = m * mag;
        break;
      }
    for (double v = std::ceil(lo / step) * step; v <= hi + step * 1e-9;
         v += step)
      out.push_back(v);
    return out;
  }
};

void drawPanel(Canvas &c, const Plot &plot, int ox, int oy, int pw, int ph) {
  const int left = 78, right = 18, top = 34, bottom = 52;
  int x0 = ox + left, x1 = ox + pw - right, y0 = oy + top,
      y1 = oy + ph - bottom;
  Axis ax{plot.logX}, ay{plot.logY};
  std::vector<double> xs, ys;
  for (const PlotSeries &s : plot.series) {
    xs.insert(xs.end(), s.x.begin(), s.x.end());
    ys.insert(ys.end(), s.y.begin(), s.y.end());
  }
  ax.fit(xs);
  ay.fit(ys);
  auto toX = [&](double v) {
    return x0 + (ax.unit(v) - ax.lo) / (ax.hi - ax.lo) * (x1 - x0);
  };
  auto toY = [&](double v) {
    return y1 - (ay.unit(v) - ay.lo) / (ay.hi - ay.lo) * (y1 - y0);
  };

  // Grid, ticks and their labels.
  for (double t : ax.ticks()) {
    double x = toX(t);
    c.line(x, y0, x, y1, kGrid, 1);
    c.line(x, y1, x, y1 + 5, kBlack, 1);
    std::string label = tickLabel(t);
    c.text(int(x) - Canvas::textWidth(label) / 2, y1 + 7, label, kText);
  }
  for (double t : ay.ticks()) {
    double y = toY(t);
    c.line(x0, y, x1, y, kGrid, 1);
    c.line(x0 - 5, y, x0, y, kBlack, 1);
    std::string label = tickLabel(t);
    c.text(x0 - 8 - Canvas::textWidth(label), int(y) - kGlyphHeight / 2, label,
           kText);
  }
  c.line(x0, y0, x0, y1, kBlack, 1);
  c.line(x0, y1, x1, y1, kBlack, 1);
  c.text(ox + pw / 2 - Canvas::textWidth(plot.title) / 2, oy + 8, plot.title,
         kBlack);
  c.text((x0 + x1) / 2 - Canvas::textWidth(plot.xLabel) / 2,
         y1 + 8 + kGlyphHeight + 4, plot.xLabel, kText);
  c.text(ox + 6, (y0 + y1) / 2 + Canvas::textWidth(plot.yLabel) / 2,
         plot.yLabel, kText, /*vertical=*/true);

  // The curves, clipped to the axes. Curves that coincide are a result
  // here (the MQAR mixers count the same bigrams), so each curve is drawn
  // wider than the ones after it and every one stays visible.
  c.setClip(x0, y0, x1 + 1, y1 + 1);
  size_t n = plot.series.size();
  std::vector<std::pair<double, double>> drawn; // points along the curves
  for (size_t i = 0; i < n; ++i) {
    const PlotSeries &s = plot.series[i];
    Rgb colour = kPalette[i % std::size(kPalette)];
    double wider = static_cast<double>(std::min<size_t>(n - 1 - i, 4));
    std::vector<std::pair<double, double>> pts;
    for (size_t j = 0; j < std::min(s.x.size(), s.y.size()); ++j)
      if (ax.shows(s.x[j]) && ay.shows(s.y[j]))
        pts.push_back({toX(s.x[j]), toY(s.y[j])});
    for (size_t j = 1; j < pts.size(); ++j) {
      auto [ax0, ay0] = pts[j - 1];
      auto [ax1, ay1] = pts[j];
      c.line(ax0, ay0, ax1, ay1, colour, 2 + 0.75 * wider);
      int steps = 1 + int(std::hypot(ax1 - ax0, ay1 - ay0) / 8);
      for (int k = 0; k <= steps; ++k)
        drawn.push_back(
            {ax0 + (ax1 - ax0) * k / steps, ay0 + (ay1 - ay0) * k / steps});
    }
    drawn.insert(drawn.end(), pts.begin(), pts.end());
    if (pts.size() <= 40)
      for (auto [x, y] : pts)
        c.disc(x, y, 3.5 + 1.5 * wider, colour);
  }
  c.resetClip();

  // The legend, in the corner (or the middle of a side) of the axes that
  // hides the least of the curves; the top right when several tie.
  size_t longest = 0;
  for (const PlotSeries &s : plot.series)
    longest = std::max(longest, s.name.size());
  if (longest == 0)
    return;
  int lw = int(longest) * kGlyphWidth + 34,
      lh = int(plot.series.size()) * 18 + 8;
  int lx = x1 - lw - 6, ly = y0 + 6;
  size_t fewest = SIZE_MAX;
  int mid = (y0 + y1 - lh) / 2;
  for (auto [cx, cy] : {std::pair{x1 - lw - 6, y0 + 6},
                        {x0 + 6, y0 + 6},
                        {x1 - lw - 6, y1 - lh - 6},
                        {x0 + 6, y1 - lh - 6},
                        {x1 - lw - 6, mid},
                        {x0 + 6, mid}}) {
    size_t hidden = llvm::count_if(drawn, [&](auto p) {
      return p.first >= cx - 4 && p.first <= cx + lw + 4 &&
             p.second >= cy - 4 && p.second <= cy + lh + 4;
    });
    if (hidden < fewest)
      fewest = hidden, lx = cx, ly = cy;
  }
  c.fill(lx, ly, lx + lw, ly + lh, kWhite);
  c.line(lx, ly, lx + lw, ly, kGrid, 1);
  c.line(lx, ly + lh, lx + lw, ly + lh, kGrid, 1);
  c.line(lx, ly, lx, ly + lh, kGrid, 1);
  c.line(lx + lw, ly, lx + lw, ly + lh, kGrid, 1);
  for (size_t i = 0; i < plot.series.size(); ++i) {
    Rgb colour = kPalette[i % std::size(kPalette)];
    int y = ly + 4 + int(i) * 18;
    c.line(lx + 6, y + 9, lx + 24, y + 9, colour, 2);
    c.text(lx + 28, y, plot.series[i].name, kText);
  }
}

void appendBE32(std::vector<uint8_t> &out, uint32_t v) {
  for (int shift = 24; shift >= 0; shift -= 8)
    out.push_back(uint8_t(v >> shift));
}

void appendChunk(std::vector<uint8_t> &out, const char type[4],
                 llvm::ArrayRef<uint8_t> data) {
  appendBE32(out, uint32_t(data.size()));
  size_t start = out.size();
  out.insert(out.end(), type, type + 4);
  out.insert(out.end(), data.begin(), data.end());
  appendBE32(out, llvm::crc32(llvm::ArrayRef<uint8_t>(out).drop_front(start)));
}

/// A zlib stream of `raw`: compressed when LLVM was built with zlib, else
/// stored blocks (RFC 1950/1951) with their Adler-32.
llvm::SmallVector<uint8_t> zlibStream(llvm::ArrayRef<uint8_t> raw) {
  llvm::SmallVector<uint8_t> out;
  if (llvm::compression::zlib::isAvailable()) {
    llvm::compression::zlib::compress(raw, out);
    return out;
  }
  out = {0x78, 0x01};
  size_t pos = 0;
  do {
    size_t n = std::min<size_t>(raw.size() - pos, 65535);
    bool last = pos + n == raw.size();
    out.push_back(last ? 1 : 0);
    out.append({uint8_t(n), uint8_t(n >> 8), uint8_t(~n), uint8_t(~n >> 8)});
    out.append(raw.begin() + pos, raw.begin() + pos + n);
    pos += n;
  } while (pos < raw.size());
  uint32_t a = 1, b = 0;
  for (uint8_t byte : raw) {
    a = (a + byte) % 65521;
    b = (b + a) % 65521;
  }
  uint32_t adler = (b << 16) | a;
  for (int shift = 24; shift >= 0; shift -= 8)
    out.push_back(uint8_t(adler >> shift));
  return out;
}

std::vector<uint8_t> encodePng(const Canvas &c) {
  std::vector<uint8_t> raw;
  raw.reserve(size_t(c.height()) * (c.width() * 3 + 1));
  for (int y = 0; y < c.height(); ++y) {
    raw.push_back(0); // filter: none
    auto row = c.pixels().begin() + size_t(y) * c.width() * 3;
    raw.insert(raw.end(), row, row + c.width() * 3);
  }
  std::vector<uint8_t> png = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'};
  std::vector<uint8_t> header;
  appendBE32(header, uint32_t(c.width()));
  appendBE32(header, uint32_t(c.height()));
  header.insert(header.end(), {8, 2, 0, 0, 0}); // 8-bit RGB, no interlace
  appendChunk(png, "IHDR", header);
  appendChunk(png, "IDAT", zlibStream(raw));
  appendChunk(png, "IEND", {});
  return png;
}

} // namespace

std::vector<uint8_t>
mlir::ssm::tasks::renderPng(const std::vector<Plot> &panels) {
  const int pw = 640, ph = 420;
  int n = std::max<int>(1, int(panels.size()));
  int cols = std::min(n, 2), rows = (n + cols - 1) / cols;
  Canvas c(cols * pw, rows * ph);
  for (int i = 0; i < int(panels.size()); ++i)
    drawPanel(c, panels[i], (i % cols) * pw, (i / cols) * ph, pw, ph);
  return encodePng(c);
}
