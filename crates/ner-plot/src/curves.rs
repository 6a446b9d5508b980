//! `curves.png`, the training figure of a model folder: the training loss
//! on the left axis; train accuracy, validation accuracy, validation macro
//! F1 (the course's three lines) and validation entity F1 (the number the
//! field reads) on the right; epochs on x.

use std::path::Path;

use ner_core::runs::EpochMetrics;

use crate::{Canvas, PlotError, Rect, Series, TwinAxisChart, PALETTE};

const WIDTH: usize = 960;
const HEIGHT: usize = 600;

/// The chart of `metrics`.
pub fn chart(metrics: &[EpochMetrics], title: &str) -> TwinAxisChart {
    let line = |label: &str, color, value: fn(&EpochMetrics) -> f64| {
        Series::new(
            label,
            color,
            metrics.iter().map(|m| (m.epoch as f64, value(m))).collect(),
        )
    };
    TwinAxisChart {
        title: title.to_string(),
        x_label: "epoch".into(),
        left_label: "training loss".into(),
        right_label: "accuracy / F1".into(),
        integer_x: true,
        left: vec![line("train loss (left)", PALETTE[1], |m| m.train_loss)],
        right: vec![
            line("train accuracy", PALETTE[0], |m| m.train_acc),
            line("validation accuracy", PALETTE[2], |m| m.val_acc),
            line("validation macro F1", PALETTE[3], |m| m.val_macro_f1),
            line("validation entity F1", PALETTE[4], |m| m.val_entity_f1),
        ],
        left_from_zero: true,
        right_range: Some((0.0, 1.0)),
    }
}

/// Draws the curves of `metrics` into `path` (PNG), atomically.
pub fn training(metrics: &[EpochMetrics], title: &str, path: &Path) -> Result<(), PlotError> {
    let mut canvas = Canvas::new(WIDTH, HEIGHT)?;
    chart(metrics, title).draw(
        &mut canvas,
        Rect::new(0.0, 0.0, WIDTH as f64, HEIGHT as f64),
    );
    canvas.save_png(path)
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
    fn the_chart_has_the_five_lines() {
        let chart = chart(&metrics(), "rnn");
        let names: Vec<&str> = chart
            .left
            .iter()
            .chain(&chart.right)
            .map(|s| s.label.as_str())
            .collect();
        assert_eq!(
            names,
            [
                "train loss (left)",
                "train accuracy",
                "validation accuracy",
                "validation macro F1",
                "validation entity F1"
            ]
        );
        assert_eq!(chart.right[3].points[4], (5.0, 0.4 + 0.05 * 5.0));
    }

    #[test]
    fn draws_a_png_or_says_why_not() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("curves.png");
        match crate::load_font() {
            Ok(_) => {
                training(&metrics(), "test", &path).expect("draws");
                let bytes = std::fs::read(&path).expect("read");
                assert_eq!(&bytes[..8], b"\x89PNG\r\n\x1a\n");
                let names: Vec<_> = std::fs::read_dir(dir.path()).expect("ls").collect();
                assert_eq!(names.len(), 1, "no temporary file left");
            }
            Err(message) => {
                let err = training(&metrics(), "test", &path).expect_err("no font");
                assert!(err.to_string().contains(&message.to_string()), "{err}");
                assert!(!path.exists());
            }
        }
    }
}
