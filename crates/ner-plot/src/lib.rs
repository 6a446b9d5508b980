//! Small PNG figures for reports: an RGB [`Canvas`] with anti-aliased lines
//! and TrueType text; [`LineChart`] (axes, ticks, optional log-scale y, one
//! line per series, a legend) and [`TwinAxisChart`] (a second y axis on the
//! right) drawn into any rectangle of it; and the training curves of a
//! model folder ([`curves`]). Ticks sit at round values (1, 2 or 5 × 10ⁿ).
//!
//! In: numbers. Out: PNG files, written atomically. It deliberately has no
//! plotting stack underneath (plotters' image dependency would rebuild the
//! polars tree); text uses a font found at run time (`NER_FONT`, or DejaVu
//! Sans where the system has it).
//!
//! ```no_run
//! use ner_plot::{Canvas, LineChart, Rect, Series, PALETTE};
//!
//! let mut canvas = Canvas::new(800, 500)?;
//! let chart = LineChart {
//!     title: "loss".into(),
//!     x_label: "epoch".into(),
//!     y_label: "loss".into(),
//!     log_y: false,
//!     series: vec![Series::new("train", PALETTE[0], vec![(1.0, 0.9), (2.0, 0.5)])],
//! };
//! chart.draw(&mut canvas, Rect::new(0.0, 0.0, 800.0, 500.0));
//! canvas.save_png("loss.png".as_ref())?;
//! # Ok::<(), ner_plot::PlotError>(())
//! ```

pub mod curves;

use std::path::{Path, PathBuf};

use ab_glyph::{point, Font, FontVec, PxScale, ScaleFont};
use ner_core::artifact::write_atomic;

/// Where a TrueType font is looked for after `NER_FONT`.
const FONT_PATHS: &[&str] = &[
    "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf",
    "/usr/share/fonts/TTF/DejaVuSans.ttf",
    "/usr/share/fonts/dejavu/DejaVuSans.ttf",
    "/Library/Fonts/Arial.ttf",
];

pub type Rgb = [u8; 3];
pub const BLACK: Rgb = [0, 0, 0];
pub const GREY: Rgb = [220, 220, 220];
pub const WHITE: Rgb = [255, 255, 255];
/// Colours for series, in order (the matplotlib "tab10" start).
pub const PALETTE: [Rgb; 8] = [
    [31, 119, 180],
    [214, 39, 40],
    [44, 160, 44],
    [148, 103, 189],
    [255, 127, 14],
    [140, 86, 75],
    [227, 119, 194],
    [127, 127, 127],
];

/// Why a figure could not be made.
#[derive(Debug, thiserror::Error)]
pub enum PlotError {
    #[error("{0}")]
    Font(String),
    #[error("{path}: {message}", path = .path.display())]
    Encode { path: PathBuf, message: String },
    #[error(transparent)]
    Artifact(#[from] ner_core::Error),
}

/// Loads the font: `NER_FONT`, then the usual system places.
pub fn load_font() -> Result<FontVec, PlotError> {
    let candidates: Vec<PathBuf> = std::env::var_os("NER_FONT")
        .map(PathBuf::from)
        .into_iter()
        .chain(FONT_PATHS.iter().map(PathBuf::from))
        .collect();
    for path in &candidates {
        if let Ok(bytes) = std::fs::read(path) {
            return FontVec::try_from_vec(bytes).map_err(|_| {
                PlotError::Font(format!("{}: not a usable TrueType font", path.display()))
            });
        }
    }
    Err(PlotError::Font(format!(
        "no TrueType font found (looked in {}); install fonts-dejavu-core or set NER_FONT",
        FONT_PATHS.join(", ")
    )))
}

/// An RGB image being drawn.
pub struct Canvas {
    width: usize,
    height: usize,
    pixels: Vec<u8>,
    font: FontVec,
}

impl std::fmt::Debug for Canvas {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Canvas")
            .field("width", &self.width)
            .field("height", &self.height)
            .finish()
    }
}

impl Canvas {
    /// A white canvas; fails when no font is found.
    pub fn new(width: usize, height: usize) -> Result<Self, PlotError> {
        Ok(Canvas {
            width,
            height,
            pixels: vec![255; width * height * 3],
            font: load_font()?,
        })
    }

    pub fn width(&self) -> usize {
        self.width
    }

    pub fn height(&self) -> usize {
        self.height
    }

    fn blend(&mut self, x: i64, y: i64, color: Rgb, alpha: f32) {
        if x < 0 || y < 0 || x >= self.width as i64 || y >= self.height as i64 {
            return;
        }
        let i = (y as usize * self.width + x as usize) * 3;
        for (channel, &target) in self.pixels[i..i + 3].iter_mut().zip(&color) {
            let old = f32::from(*channel);
            *channel = (old + (f32::from(target) - old) * alpha.clamp(0.0, 1.0)).round() as u8;
        }
    }

    /// A filled rectangle, corners included.
    pub fn rect(&mut self, x0: i64, y0: i64, x1: i64, y1: i64, color: Rgb) {
        for y in y0..=y1 {
            for x in x0..=x1 {
                self.blend(x, y, color, 1.0);
            }
        }
    }

    /// A rectangle's outline.
    pub fn frame(&mut self, x0: f64, y0: f64, x1: f64, y1: f64, color: Rgb) {
        self.line((x0, y0), (x1, y0), 1.0, color);
        self.line((x0, y1), (x1, y1), 1.0, color);
        self.line((x0, y0), (x0, y1), 1.0, color);
        self.line((x1, y0), (x1, y1), 1.0, color);
    }

    /// An anti-aliased line `width` pixels thick.
    pub fn line(&mut self, (x0, y0): (f64, f64), (x1, y1): (f64, f64), width: f64, color: Rgb) {
        let steps = ((x1 - x0).abs().max((y1 - y0).abs()) * 2.0)
            .ceil()
            .clamp(1.0, 1e6) as usize;
        let r = width / 2.0;
        for s in 0..=steps {
            let t = s as f64 / steps as f64;
            let (cx, cy) = (x0 + (x1 - x0) * t, y0 + (y1 - y0) * t);
            let (lo_x, hi_x) = ((cx - r).floor() as i64, (cx + r).ceil() as i64);
            let (lo_y, hi_y) = ((cy - r).floor() as i64, (cy + r).ceil() as i64);
            for y in lo_y..=hi_y {
                for x in lo_x..=hi_x {
                    let d = ((x as f64 - cx).powi(2) + (y as f64 - cy).powi(2)).sqrt();
                    if d <= r + 0.5 {
                        self.blend(x, y, color, (r + 0.5 - d).min(1.0) as f32);
                    }
                }
            }
        }
    }

    /// A square marker centred on a point.
    pub fn marker(&mut self, (x, y): (f64, f64), half: i64, color: Rgb) {
        let (x, y) = (x.round() as i64, y.round() as i64);
        self.rect(x - half, y - half, x + half, y + half, color);
    }

    pub fn text_width(&self, text: &str, size: f32) -> f64 {
        let font = self.font.as_scaled(PxScale::from(size));
        text.chars()
            .map(|c| font.h_advance(font.glyph_id(c)))
            .sum::<f32>() as f64
    }

    /// Draws `text` with its left end at `x` and its baseline at `y`.
    pub fn text(&mut self, x: f64, y: f64, size: f32, text: &str, color: Rgb) {
        let scale = PxScale::from(size);
        let mut caret = x as f32;
        let mut coverage = Vec::new();
        {
            let font = self.font.as_scaled(scale);
            for c in text.chars() {
                let id = font.glyph_id(c);
                let glyph = id.with_scale_and_position(scale, point(caret, y as f32));
                caret += font.h_advance(id);
                if let Some(outlined) = self.font.outline_glyph(glyph) {
                    let bounds = outlined.px_bounds();
                    outlined.draw(|gx, gy, a| {
                        coverage.push((
                            bounds.min.x as i64 + i64::from(gx),
                            bounds.min.y as i64 + i64::from(gy),
                            a,
                        ));
                    });
                }
            }
        }
        for (px, py, a) in coverage {
            self.blend(px, py, color, a);
        }
    }

    /// Text centred on `x`.
    pub fn text_centred(&mut self, x: f64, y: f64, size: f32, text: &str, color: Rgb) {
        let w = self.text_width(text, size);
        self.text(x - w / 2.0, y, size, text, color);
    }

    /// Encodes the canvas as PNG and writes it atomically.
    pub fn save_png(&self, path: &Path) -> Result<(), PlotError> {
        let fail = |message: String| PlotError::Encode {
            path: path.to_path_buf(),
            message,
        };
        let mut encoded = Vec::new();
        {
            let mut encoder =
                png::Encoder::new(&mut encoded, self.width as u32, self.height as u32);
            encoder.set_color(png::ColorType::Rgb);
            encoder.set_depth(png::BitDepth::Eight);
            let mut writer = encoder.write_header().map_err(|e| fail(e.to_string()))?;
            writer
                .write_image_data(&self.pixels)
                .map_err(|e| fail(e.to_string()))?;
            writer.finish().map_err(|e| fail(e.to_string()))?;
        }
        write_atomic(path, &encoded)?;
        Ok(())
    }
}

/// A rectangle of the canvas, in pixels.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Rect {
    pub x: f64,
    pub y: f64,
    pub width: f64,
    pub height: f64,
}

impl Rect {
    pub fn new(x: f64, y: f64, width: f64, height: f64) -> Self {
        Rect {
            x,
            y,
            width,
            height,
        }
    }
}

/// One line of a chart.
#[derive(Debug, Clone, PartialEq)]
pub struct Series {
    pub label: String,
    pub color: Rgb,
    pub points: Vec<(f64, f64)>,
}

impl Series {
    pub fn new(label: impl Into<String>, color: Rgb, points: Vec<(f64, f64)>) -> Self {
        Series {
            label: label.into(),
            color,
            points,
        }
    }
}

/// A line chart: axes fitted to the data, ticks, a legend in the lower right.
#[derive(Debug, Clone, PartialEq)]
pub struct LineChart {
    pub title: String,
    pub x_label: String,
    pub y_label: String,
    /// Logarithmic y axis (non-positive values are left out).
    pub log_y: bool,
    pub series: Vec<Series>,
}

impl LineChart {
    /// Draws the chart inside `area`.
    pub fn draw(&self, c: &mut Canvas, area: Rect) {
        let plot = Plot::inside(area, 80.0, 20.0);
        let y = Axis::fitted(
            self.series
                .iter()
                .flat_map(|s| s.points.iter().map(|p| p.1)),
            self.log_y,
            0.05,
        );
        let x = Axis::fitted(
            self.series
                .iter()
                .flat_map(|s| s.points.iter().map(|p| p.0)),
            false,
            0.0,
        );
        plot.grid_and_left_axis(c, &x, &y);
        plot.labels(c, area, &self.title, &self.x_label, &self.y_label);
        for s in &self.series {
            plot.series(c, &x, &y, s);
        }
        plot.legend(c, &self.series);
    }
}

/// A chart with two y axes over one x axis: `left` series read on the left
/// axis, `right` series on the right one, a legend naming every series.
#[derive(Debug, Clone, PartialEq)]
pub struct TwinAxisChart {
    pub title: String,
    pub x_label: String,
    pub left_label: String,
    pub right_label: String,
    /// X values are whole numbers (epochs): ticks at whole numbers only.
    pub integer_x: bool,
    pub left: Vec<Series>,
    pub right: Vec<Series>,
    /// The left axis runs from 0 (losses, counts).
    pub left_from_zero: bool,
    /// A fixed range for the right axis (`[0, 1]` for fractions); fitted to
    /// the data when `None`.
    pub right_range: Option<(f64, f64)>,
}

impl TwinAxisChart {
    /// Draws the chart inside `area`.
    pub fn draw(&self, c: &mut Canvas, area: Rect) {
        let plot = Plot::inside(area, 90.0, 90.0);
        let values = |series: &[Series]| -> Vec<f64> {
            series
                .iter()
                .flat_map(|s| s.points.iter().map(|p| p.1))
                .collect()
        };
        let mut left_values = values(&self.left);
        if self.left_from_zero {
            left_values.push(0.0);
        }
        let left = Axis::fitted(left_values.into_iter(), false, 0.05);
        let right = match self.right_range {
            Some((lo, hi)) => Axis::fixed(lo, hi),
            None => Axis::fitted(values(&self.right).into_iter(), false, 0.05),
        };
        let mut x = Axis::fitted(
            self.left
                .iter()
                .chain(&self.right)
                .flat_map(|s| s.points.iter().map(|p| p.0)),
            false,
            0.0,
        );
        x.integer = self.integer_x;
        plot.grid_and_left_axis(c, &x, &left);
        plot.right_axis(c, &right);
        plot.labels(c, area, &self.title, &self.x_label, &self.left_label);
        let w = c.text_width(&self.right_label, 16.0);
        c.text(
            plot.right + 80.0 - w,
            plot.top - 12.0,
            16.0,
            &self.right_label,
            BLACK,
        );
        for s in &self.left {
            plot.series(c, &x, &left, s);
        }
        for s in &self.right {
            plot.series(c, &x, &right, s);
        }
        let all: Vec<Series> = self.left.iter().chain(&self.right).cloned().collect();
        plot.legend(c, &all);
    }
}

/// An axis: its range (log10 of the values on a log axis) and tick rule.
#[derive(Debug, Clone, Copy, PartialEq)]
struct Axis {
    lo: f64,
    hi: f64,
    log: bool,
    /// Ticks at whole numbers only.
    integer: bool,
}

impl Axis {
    /// The range of `values` (finite ones; positive ones on a log axis),
    /// widened by `pad` of its span.
    fn fitted(values: impl Iterator<Item = f64>, log: bool, pad: f64) -> Axis {
        let (lo, hi) = padded_range(
            values
                .filter(|v| v.is_finite() && (!log || *v > 0.0))
                .map(|v| if log { v.log10() } else { v }),
            pad,
        );
        Axis {
            lo,
            hi,
            log,
            integer: false,
        }
    }

    fn fixed(lo: f64, hi: f64) -> Axis {
        Axis {
            lo,
            hi,
            log: false,
            integer: false,
        }
    }

    /// Whether a value can be drawn on this axis.
    fn shows(&self, v: f64) -> bool {
        v.is_finite() && (!self.log || v > 0.0)
    }

    /// Where `v` lies, from 0 (low end) to 1 (high end).
    fn fraction(&self, v: f64) -> f64 {
        let v = if self.log { v.log10() } else { v };
        (v - self.lo) / (self.hi - self.lo)
    }

    /// Tick values (in the axis's units) and their labels.
    fn ticks(&self) -> Vec<(f64, String)> {
        ticks(self.lo, self.hi, self.log, self.integer)
    }
}

/// The plotting area of a chart inside its rectangle.
#[derive(Debug, Clone, Copy)]
struct Plot {
    left: f64,
    right: f64,
    top: f64,
    bottom: f64,
}

impl Plot {
    fn inside(area: Rect, margin_left: f64, margin_right: f64) -> Plot {
        Plot {
            left: area.x + margin_left,
            right: area.x + area.width - margin_right,
            top: area.y + 50.0,
            bottom: area.y + area.height - 60.0,
        }
    }

    fn x_of(&self, x: &Axis, v: f64) -> f64 {
        self.left + x.fraction(v) * (self.right - self.left)
    }

    fn y_of(&self, y: &Axis, v: f64) -> f64 {
        self.bottom - y.fraction(v) * (self.bottom - self.top)
    }

    /// Grid lines at both axes' ticks, the left and bottom axes, their labels.
    fn grid_and_left_axis(&self, c: &mut Canvas, x: &Axis, y: &Axis) {
        for (v, label) in y.ticks() {
            let at = self.bottom - (v - y.lo) / (y.hi - y.lo) * (self.bottom - self.top);
            c.line((self.left, at), (self.right, at), 1.0, GREY);
            let w = c.text_width(&label, 14.0);
            c.text(self.left - 8.0 - w, at + 5.0, 14.0, &label, BLACK);
        }
        for (v, label) in x.ticks() {
            let at = self.left + (v - x.lo) / (x.hi - x.lo) * (self.right - self.left);
            c.line((at, self.top), (at, self.bottom), 1.0, GREY);
            c.text_centred(at, self.bottom + 20.0, 14.0, &label, BLACK);
        }
        c.line((self.left, self.top), (self.left, self.bottom), 2.0, BLACK);
        c.line(
            (self.left, self.bottom),
            (self.right, self.bottom),
            2.0,
            BLACK,
        );
    }

    /// The right axis and its tick labels (no grid: the left axis has it).
    fn right_axis(&self, c: &mut Canvas, y: &Axis) {
        for (v, label) in y.ticks() {
            let at = self.bottom - (v - y.lo) / (y.hi - y.lo) * (self.bottom - self.top);
            c.line((self.right - 5.0, at), (self.right, at), 1.5, BLACK);
            c.text(self.right + 8.0, at + 5.0, 14.0, &label, BLACK);
        }
        c.line(
            (self.right, self.top),
            (self.right, self.bottom),
            2.0,
            BLACK,
        );
    }

    fn labels(&self, c: &mut Canvas, area: Rect, title: &str, x_label: &str, y_label: &str) {
        let middle = (self.left + self.right) / 2.0;
        c.text_centred(middle, self.bottom + 46.0, 16.0, x_label, BLACK);
        c.text(self.left - 70.0, self.top - 12.0, 16.0, y_label, BLACK);
        c.text_centred(middle, area.y + 24.0, 20.0, title, BLACK);
    }

    fn series(&self, c: &mut Canvas, x: &Axis, y: &Axis, s: &Series) {
        let pts: Vec<(f64, f64)> = s
            .points
            .iter()
            .filter(|&&(px, py)| x.shows(px) && y.shows(py))
            .map(|&(px, py)| (self.x_of(x, px), self.y_of(y, py)))
            .collect();
        for pair in pts.windows(2) {
            c.line(pair[0], pair[1], 2.5, s.color);
        }
        for &p in &pts {
            c.marker(p, 3, s.color);
        }
    }

    /// The series' names and colours, in the lower right.
    fn legend(&self, c: &mut Canvas, series: &[Series]) {
        if series.is_empty() {
            return;
        }
        let label_w = series
            .iter()
            .map(|s| c.text_width(&s.label, 14.0))
            .fold(0.0, f64::max);
        let (lw, lh) = (label_w + 60.0, 22.0 * series.len() as f64 + 10.0);
        let (lx, ly) = (self.right - lw - 10.0, self.bottom - lh - 10.0);
        c.rect(
            lx as i64,
            ly as i64,
            (lx + lw) as i64,
            (ly + lh) as i64,
            [250, 250, 250],
        );
        c.frame(lx, ly, lx + lw, ly + lh, BLACK);
        for (i, s) in series.iter().enumerate() {
            let y = ly + 20.0 + 22.0 * i as f64;
            c.line((lx + 8.0, y - 5.0), (lx + 38.0, y - 5.0), 3.0, s.color);
            c.text(lx + 46.0, y, 14.0, &s.label, BLACK);
        }
    }
}

/// The data's range, widened by `pad` of its span (and never empty).
fn padded_range(values: impl Iterator<Item = f64>, pad: f64) -> (f64, f64) {
    let (lo, hi) = values.fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), v| {
        (lo.min(v), hi.max(v))
    });
    if !lo.is_finite() || !hi.is_finite() {
        return (0.0, 1.0);
    }
    let span = (hi - lo).max(1e-9);
    if hi - lo < 1e-12 {
        return (lo - 0.5, hi + 0.5);
    }
    (lo - pad * span, hi + pad * span)
}

/// About six round tick positions in `[lo, hi]` with their labels: steps of
/// 1, 2 or 5 × 10ⁿ (at least 1 with `integer`); on a log axis (values are
/// log10) ticks sit on powers of ten.
fn ticks(lo: f64, hi: f64, log: bool, integer: bool) -> Vec<(f64, String)> {
    if log {
        let (a, b) = (lo.ceil() as i64, hi.floor() as i64);
        let step = ((b - a) / 6 + 1).max(1);
        return (a..=b)
            .step_by(step as usize)
            .map(|e| (e as f64, format!("1e{e}")))
            .collect();
    }
    let raw = (hi - lo) / 6.0;
    let magnitude = 10f64.powf(raw.log10().floor());
    let mut step = [1.0, 2.0, 5.0, 10.0]
        .iter()
        .map(|m| m * magnitude)
        .find(|&s| s >= raw)
        .unwrap_or(10.0 * magnitude);
    if integer {
        step = step.max(1.0).round();
    }
    let decimals = (-step.log10().floor()).max(0.0) as usize;
    let mut out = Vec::new();
    // Whole multiples of the step, so labels never gather rounding error.
    let (first, last) = (
        (lo / step - 1e-9).ceil() as i64,
        (hi / step + 1e-9).floor() as i64,
    );
    for k in first..=last.min(first + 49) {
        let v = k as f64 * step;
        out.push((v, format!("{v:.decimals$}")));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn labels(lo: f64, hi: f64, log: bool, integer: bool) -> Vec<String> {
        ticks(lo, hi, log, integer)
            .into_iter()
            .map(|t| t.1)
            .collect()
    }

    #[test]
    fn ticks_are_round() {
        assert_eq!(
            labels(0.0, 1.0, false, false),
            ["0.0", "0.2", "0.4", "0.6", "0.8", "1.0"]
        );
        assert_eq!(
            labels(-3.2, 0.5, true, false),
            ["1e-3", "1e-2", "1e-1", "1e0"]
        );
        // A loss axis up to 0.561 (the old curves put ticks at 0.102, 0.204, …).
        assert_eq!(
            labels(0.0, 0.561, false, false),
            ["0.0", "0.1", "0.2", "0.3", "0.4", "0.5"]
        );
        // Never 2.5 × 10ⁿ.
        assert_eq!(labels(0.0, 14.0, false, false), ["0", "5", "10"]);
        assert_eq!(
            labels(0.0, 0.013, false, false),
            ["0.000", "0.005", "0.010"]
        );
        // Epochs 1 to 3: whole numbers only.
        assert_eq!(labels(1.0, 3.0, false, true), ["1", "2", "3"]);
        assert_eq!(labels(1.0, 40.0, false, true), ["10", "20", "30", "40"]);
    }

    #[test]
    fn chart_draws_a_png_or_says_why_not() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("chart.png");
        match Canvas::new(400, 300) {
            Ok(mut canvas) => {
                let chart = LineChart {
                    title: "t".into(),
                    x_label: "x".into(),
                    y_label: "y".into(),
                    log_y: true,
                    series: vec![Series::new(
                        "a",
                        PALETTE[0],
                        vec![(1.0, 1e-3), (2.0, 0.0), (3.0, 1.0)],
                    )],
                };
                chart.draw(&mut canvas, Rect::new(0.0, 0.0, 400.0, 300.0));
                canvas.save_png(&path).expect("writes");
                assert_eq!(
                    &std::fs::read(&path).expect("read")[..8],
                    b"\x89PNG\r\n\x1a\n"
                );
            }
            Err(err) => assert!(err.to_string().contains("NER_FONT"), "{err}"),
        }
    }
}
