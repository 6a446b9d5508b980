//! `curves.png`: the course's training figure — training loss on the left
//! axis; train accuracy, validation accuracy and validation macro F1 on the
//! right; epochs on x — drawn into an RGB buffer and encoded as PNG.
//!
//! Text is rasterised with a TrueType font found at run time (`NER_FONT`, or
//! DejaVu Sans where the system has it).

use std::path::Path;

use ner_plot::{Canvas, Rgb, BLACK, GREY, PALETTE};

use crate::train::EpochMetrics;
use crate::TrainError;

const WIDTH: usize = 960;
const HEIGHT: usize = 600;
const BLUE: Rgb = PALETTE[0];
const RED: Rgb = PALETTE[1];
const GREEN: Rgb = PALETTE[2];
const PURPLE: Rgb = PALETTE[3];

/// Draws the curves of `metrics` into `path` (PNG), atomically.
pub fn curves(metrics: &[EpochMetrics], title: &str, path: &Path) -> Result<(), TrainError> {
    let fail = |err: ner_plot::PlotError| TrainError::Plot {
        path: path.to_path_buf(),
        message: err.to_string(),
    };
    let mut canvas = Canvas::new(WIDTH, HEIGHT).map_err(fail)?;
    draw(&mut canvas, metrics, title);
    canvas.save_png(path).map_err(fail)
}

fn draw(c: &mut Canvas, metrics: &[EpochMetrics], title: &str) {
    let (left, right, top, bottom) = (90.0, WIDTH as f64 - 90.0, 70.0, HEIGHT as f64 - 70.0);
    let last_epoch = metrics.last().map_or(1, |m| m.epoch).max(2) as f64;
    let max_loss = metrics
        .iter()
        .map(|m| m.train_loss)
        .fold(0.0, f64::max)
        .max(1e-3)
        * 1.1;
    let x_of = |epoch: f64| left + (epoch - 1.0) / (last_epoch - 1.0) * (right - left);
    let y_left = |v: f64| bottom - v / max_loss * (bottom - top);
    let y_right = |v: f64| bottom - v * (bottom - top);

    // Grid, axes and tick labels.
    for k in 0..=5 {
        let fraction = k as f64 / 5.0;
        let y = bottom - fraction * (bottom - top);
        c.line((left, y), (right, y), 1.0, GREY);
        let loss_label = format!("{:.3}", fraction * max_loss);
        let w = c.text_width(&loss_label, 15.0);
        c.text(left - 8.0 - w, y + 5.0, 15.0, &loss_label, BLACK);
        c.text(right + 8.0, y + 5.0, 15.0, &format!("{fraction:.1}"), BLACK);
    }
    let every = (last_epoch as usize).div_ceil(12).max(1);
    for epoch in (1..=last_epoch as usize).step_by(every) {
        let x = x_of(epoch as f64);
        c.line((x, top), (x, bottom), 1.0, GREY);
        let label = epoch.to_string();
        let w = c.text_width(&label, 15.0);
        c.text(x - w / 2.0, bottom + 22.0, 15.0, &label, BLACK);
    }
    c.line((left, top), (left, bottom), 2.0, BLACK);
    c.line((right, top), (right, bottom), 2.0, BLACK);
    c.line((left, bottom), (right, bottom), 2.0, BLACK);
    let w = c.text_width("epoch", 17.0);
    c.text(
        (left + right) / 2.0 - w / 2.0,
        bottom + 50.0,
        17.0,
        "epoch",
        BLACK,
    );
    c.text(left - 70.0, top - 14.0, 17.0, "training loss", RED);
    let w = c.text_width("accuracy / F1", 17.0);
    c.text(right + 70.0 - w, top - 14.0, 17.0, "accuracy / F1", BLACK);
    let w = c.text_width(title, 24.0);
    c.text(WIDTH as f64 / 2.0 - w / 2.0, 34.0, 24.0, title, BLACK);

    // Series.
    type Series = (&'static str, fn(&EpochMetrics) -> f64, Rgb, bool);
    let series: [Series; 4] = [
        ("train loss (left)", |m| m.train_loss, RED, true),
        ("train accuracy", |m| m.train_acc, BLUE, false),
        ("validation accuracy", |m| m.val_acc, GREEN, false),
        ("validation macro F1", |m| m.val_macro_f1, PURPLE, false),
    ];
    for (_, value, color, on_left) in &series {
        let points: Vec<(f64, f64)> = metrics
            .iter()
            .map(|m| {
                let v = value(m);
                (
                    x_of(m.epoch as f64),
                    if *on_left { y_left(v) } else { y_right(v) },
                )
            })
            .collect();
        for pair in points.windows(2) {
            c.line(pair[0], pair[1], 3.0, *color);
        }
        for &(x, y) in &points {
            c.rect(
                x as i64 - 4,
                y as i64 - 4,
                x as i64 + 4,
                y as i64 + 4,
                *color,
            );
        }
    }

    // Legend, lower right inside the plot.
    let (lw, lh) = (230.0, 24.0 * series.len() as f64 + 12.0);
    let (lx, ly) = (right - lw - 12.0, bottom - lh - 12.0);
    c.rect(
        lx as i64,
        ly as i64,
        (lx + lw) as i64,
        (ly + lh) as i64,
        [250, 250, 250],
    );
    c.line((lx, ly), (lx + lw, ly), 1.0, BLACK);
    c.line((lx, ly + lh), (lx + lw, ly + lh), 1.0, BLACK);
    c.line((lx, ly), (lx, ly + lh), 1.0, BLACK);
    c.line((lx + lw, ly), (lx + lw, ly + lh), 1.0, BLACK);
    for (i, (label, _, color, _)) in series.iter().enumerate() {
        let y = ly + 22.0 + 24.0 * i as f64;
        c.line((lx + 10.0, y - 5.0), (lx + 40.0, y - 5.0), 3.0, *color);
        c.text(lx + 50.0, y, 15.0, label, BLACK);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn metrics() -> Vec<EpochMetrics> {
        (1..=5)
            .map(|e| EpochMetrics {
                epoch: e,
                train_loss: 1.0 / e as f64,
                train_acc: 0.8 + 0.02 * e as f64,
                val_acc: 0.8 + 0.015 * e as f64,
                val_macro_f1: 0.5 + 0.05 * e as f64,
                val_entity_f1: 0.4 + 0.05 * e as f64,
                epoch_seconds: 1.0,
                train_seconds: 1.0,
                forward_seconds: 0.3,
                backward_seconds: 0.4,
                optimizer_seconds: 0.3,
            })
            .collect()
    }

    #[test]
    fn draws_a_png_or_says_why_not() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("curves.png");
        match ner_plot::load_font() {
            Ok(_) => {
                curves(&metrics(), "test", &path).expect("draws");
                let bytes = std::fs::read(&path).expect("read");
                assert_eq!(&bytes[..8], b"\x89PNG\r\n\x1a\n");
                let names: Vec<_> = std::fs::read_dir(dir.path()).expect("ls").collect();
                assert_eq!(names.len(), 1, "no temporary file left");
            }
            Err(message) => {
                let err = curves(&metrics(), "test", &path).expect_err("no font");
                assert!(err.to_string().contains(&message.to_string()), "{err}");
                assert!(!path.exists());
            }
        }
    }
}
