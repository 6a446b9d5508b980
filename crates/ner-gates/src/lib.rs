//! The GRU gate experiment: fix the update gate or the reset gate of a GRU
//! to 1 and measure which simplification still carries gradients, and
//! information, across long sequences.
//!
//! In: nothing but a [`Config`] (every number is generated from its seed).
//! Out, in `output_dir`: `gates.json` (every measurement), `accuracy.md` (the
//! task's accuracy and the gradient ratio per variant and length) and
//! `gradients.png` (gradient norm against distance, log scale, one line per
//! variant; at initialisation and after training).
//!
//! The task: a sequence starts with a key (one of `keys` symbols), then
//! `length - 1` noise symbols; the label at the last step is the key. Only a
//! state that keeps the first step's information can solve it, and only a
//! gradient that reaches the first step can teach it to. The measured
//! quantity is ‖∂L/∂h_t‖ for the loss L at the last step, averaged over the
//! examples of several batches, as a function of the distance T − t.
//!
//! The cells are [`ner_train::layers::gru`]'s in tensor operations (the
//! full one agrees with libtorch's GRU to 1e-5): the experiment needs every
//! state in libtorch's graph.

use std::fmt::Write as _;
use std::path::PathBuf;
use std::time::Instant;

use ner_core::rng::SplitMix64;
use ner_kernels::{Cell, GruGates};
use ner_plot::{Canvas, LineChart, Rect, Series, PALETTE};
use ner_train::layers::gru::{run as run_gru, GruWeights};
use serde::{Deserialize, Serialize};
use tch::nn::{self, OptimizerConfig};
use tch::{Device, Kind, Reduction, Tensor};

/// Errors of the experiment.
#[derive(Debug, thiserror::Error)]
pub enum GatesError {
    #[error(transparent)]
    Artifact(#[from] ner_core::Error),
    #[error(transparent)]
    Plot(#[from] ner_plot::PlotError),
    #[error("libtorch: {0}")]
    Torch(#[from] tch::TchError),
}

/// The experiment's settings.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Config {
    pub lengths: Vec<usize>,
    /// Training steps per variant and length.
    pub steps: usize,
    pub batch_size: usize,
    pub hidden: i64,
    /// Adam's learning rate; gradients are clipped to norm 1.
    pub lr: f64,
    pub keys: usize,
    pub noise: usize,
    /// Batches averaged for each gradient measurement.
    pub gradient_batches: usize,
    /// Held-out examples for the accuracy.
    pub eval_examples: usize,
    pub seed: u64,
    #[serde(skip)]
    pub output_dir: PathBuf,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            lengths: vec![10, 20, 30, 50, 100, 200],
            steps: 300,
            batch_size: 64,
            hidden: 32,
            lr: 0.01,
            keys: 4,
            noise: 8,
            gradient_batches: 4,
            eval_examples: 1024,
            seed: 0,
            output_dir: PathBuf::from("reports/gates"),
        }
    }
}

/// The cells the experiment compares, in its tables' order.
pub const VARIANTS: [Cell; 3] = [Cell::Gru, Cell::GruNoUpdate, Cell::GruNoReset];

/// A variant's name in the report and in `gates.json`.
pub fn variant_name(cell: Cell) -> &'static str {
    match cell {
        Cell::GruNoUpdate => "no-update-gate",
        Cell::GruNoReset => "no-reset-gate",
        _ => "full",
    }
}

/// `gates.json` names the variants as [`variant_name`] does.
mod variant_names {
    use ner_kernels::Cell;
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(cell: &Cell, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(super::variant_name(*cell))
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Cell, D::Error> {
        let name = String::deserialize(d)?;
        super::VARIANTS
            .into_iter()
            .find(|&c| super::variant_name(c) == name)
            .ok_or_else(|| serde::de::Error::custom(format!("unknown GRU variant '{name}'")))
    }
}

/// One variant at one length.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Measurement {
    #[serde(with = "variant_names")]
    pub variant: Cell,
    pub length: usize,
    /// `‖∂L/∂h_{T−d}‖` for d = 0 … T−1, at initialisation.
    pub init_norms: Vec<f64>,
    /// The same after training.
    pub trained_norms: Vec<f64>,
    /// Held-out accuracy after training (chance: 1 / keys).
    pub accuracy: f64,
    /// Mean training loss over the last 10 % of the steps.
    pub final_loss: f64,
    pub seconds: f64,
}

/// A one-layer GRU classifier over one-hot symbols.
struct Model {
    vs: nn::VarStore,
    w_ih: Tensor,
    w_hh: Tensor,
    b_ih: Tensor,
    b_hh: Tensor,
    out_w: Tensor,
    out_b: Tensor,
    eye: Tensor,
}

impl Model {
    fn new(config: &Config) -> Self {
        let vs = nn::VarStore::new(Device::Cpu);
        let root = vs.root();
        let n_in = (config.keys + config.noise) as i64;
        let h = config.hidden;
        let bound = 1.0 / (h as f64).sqrt();
        let uniform = nn::Init::Uniform {
            lo: -bound,
            up: bound,
        };
        Model {
            w_ih: root.var("weight_ih", &[3 * h, n_in], uniform),
            w_hh: root.var("weight_hh", &[3 * h, h], uniform),
            b_ih: root.var("bias_ih", &[3 * h], uniform),
            b_hh: root.var("bias_hh", &[3 * h], uniform),
            out_w: root.var("out_weight", &[config.keys as i64, h], uniform),
            out_b: root.var("out_bias", &[config.keys as i64], uniform),
            eye: Tensor::eye(n_in, (Kind::Float, Device::Cpu)),
            vs,
        }
    }

    /// Class scores of the last step and every state.
    fn forward(&self, ids: &Tensor, variant: Cell) -> (Tensor, Vec<Tensor>) {
        let size = ids.size();
        let x = self
            .eye
            .index_select(0, &ids.view([-1]))
            .view([size[0], size[1], -1]);
        let h0 = Tensor::zeros([size[0], self.w_hh.size()[1]], (Kind::Float, Device::Cpu));
        let weights = GruWeights {
            w_ih: &self.w_ih,
            w_hh: &self.w_hh,
            b_ih: &self.b_ih,
            b_hh: &self.b_hh,
        };
        let gates = variant.gru_gates().unwrap_or(GruGates::FULL);
        let (_, states) = run_gru(&x, &h0, &weights, gates);
        let last = states.last().unwrap_or(&h0);
        let logits = last.matmul(&self.out_w.tr()) + &self.out_b;
        (logits, states)
    }
}

/// A batch of the task: ids `[B, T]` and labels `[B]`.
fn sample(rng: &mut SplitMix64, config: &Config, batch: usize, length: usize) -> (Tensor, Tensor) {
    let mut ids = Vec::with_capacity(batch * length);
    let mut labels = Vec::with_capacity(batch);
    for _ in 0..batch {
        let key = rng.below(config.keys as u64) as i64;
        labels.push(key);
        ids.push(key);
        for _ in 1..length {
            ids.push(config.keys as i64 + rng.below(config.noise as u64) as i64);
        }
    }
    (
        Tensor::from_slice(&ids).view([batch as i64, length as i64]),
        Tensor::from_slice(&labels),
    )
}

fn loss(logits: &Tensor, labels: &Tensor) -> Tensor {
    logits.cross_entropy_loss::<Tensor>(labels, None, Reduction::Mean, -100, 0.0)
}

/// Mean over examples of ‖∂L/∂h_t‖, indexed by distance from the last step.
fn gradient_norms(
    model: &Model,
    variant: Cell,
    config: &Config,
    length: usize,
    rng: &mut SplitMix64,
) -> Result<Vec<f64>, GatesError> {
    let mut sums = vec![0.0; length];
    for _ in 0..config.gradient_batches {
        let (ids, labels) = sample(rng, config, config.batch_size, length);
        let (logits, states) = model.forward(&ids, variant);
        // Summed over the batch, so each example's gradient is its own loss's.
        let total = loss(&logits, &labels) * config.batch_size as f64;
        let grads = Tensor::f_run_backward(&[&total], &states, false, false)?;
        for (t, g) in grads.iter().enumerate() {
            let per_example = g.square().sum_dim_intlist(1, false, Kind::Float).sqrt();
            sums[length - 1 - t] += per_example.mean(Kind::Float).double_value(&[]);
        }
    }
    Ok(sums
        .into_iter()
        .map(|s| s / config.gradient_batches.max(1) as f64)
        .collect())
}

/// Trains and measures one variant at one length.
pub fn measure(config: &Config, variant: Cell, length: usize) -> Result<Measurement, GatesError> {
    let started = Instant::now();
    // Same initial weights and the same data for every variant.
    tch::manual_seed(config.seed as i64 + length as i64);
    let model = Model::new(config);
    let mut rng = SplitMix64::new(config.seed ^ (length as u64).wrapping_mul(0x9E37_79B9));
    let init_norms = gradient_norms(&model, variant, config, length, &mut rng)?;
    let mut optimizer = nn::Adam::default().build(&model.vs, config.lr)?;
    let tail = (config.steps / 10).max(1);
    let mut tail_loss = 0.0;
    for step in 0..config.steps {
        let (ids, labels) = sample(&mut rng, config, config.batch_size, length);
        let (logits, _) = model.forward(&ids, variant);
        let l = loss(&logits, &labels);
        optimizer.zero_grad();
        l.backward();
        optimizer.clip_grad_norm(1.0);
        optimizer.step();
        if step + tail >= config.steps {
            tail_loss += l.double_value(&[]);
        }
    }
    let trained_norms = gradient_norms(&model, variant, config, length, &mut rng)?;
    let accuracy = tch::no_grad(|| -> Result<f64, GatesError> {
        let mut correct = 0i64;
        let mut seen = 0i64;
        while seen < config.eval_examples as i64 {
            let (ids, labels) = sample(&mut rng, config, config.batch_size, length);
            let (logits, _) = model.forward(&ids, variant);
            correct += logits
                .argmax(-1, false)
                .eq_tensor(&labels)
                .sum(Kind::Int64)
                .int64_value(&[]);
            seen += config.batch_size as i64;
        }
        Ok(correct as f64 / seen.max(1) as f64)
    })?;
    Ok(Measurement {
        variant,
        length,
        init_norms,
        trained_norms,
        accuracy,
        final_loss: tail_loss / tail as f64,
        seconds: started.elapsed().as_secs_f64(),
    })
}

/// Runs every variant at every length and writes the outputs.
pub fn run(
    config: &Config,
    mut progress: impl FnMut(&Measurement),
) -> Result<Vec<Measurement>, GatesError> {
    let mut results = Vec::new();
    for &length in &config.lengths {
        for variant in VARIANTS {
            let m = measure(config, variant, length)?;
            progress(&m);
            results.push(m);
        }
    }
    std::fs::create_dir_all(&config.output_dir)
        .map_err(|e| ner_core::Error::io(&config.output_dir, e))?;
    let json = serde_json::json!({ "config": config, "results": results });
    let bytes = serde_json::to_vec_pretty(&json).map_err(|e| {
        ner_core::Error::invalid(config.output_dir.join("gates.json"), e.to_string())
    })?;
    ner_core::artifact::write_atomic(&config.output_dir.join("gates.json"), &bytes)?;
    ner_core::artifact::write_atomic(
        &config.output_dir.join("accuracy.md"),
        table(config, &results).as_bytes(),
    )?;
    figure(config, &results)?;
    Ok(results)
}

/// The Markdown table: accuracy, final loss and the gradient ratio.
pub fn table(config: &Config, results: &[Measurement]) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "# GRU gate experiment\n\nTask: the label at the last step is the first symbol of the sequence \
         ({} keys, chance {:.2}); {} noise symbols after it. {} training steps of {} sequences, \
         Adam {}, hidden {}, seed {}. Made by `make gates`.\n",
        config.keys,
        1.0 / config.keys as f64,
        config.noise,
        config.steps,
        config.batch_size,
        config.lr,
        config.hidden,
        config.seed
    );
    let _ = writeln!(out, "## Held-out accuracy after training\n");
    let mut header = String::from("| variant |");
    let mut rule = String::from("|---|");
    for l in &config.lengths {
        let _ = write!(header, " T = {l} |");
        rule.push_str("---:|");
    }
    let _ = writeln!(out, "{header}\n{rule}");
    rows(&mut out, config, results, |m| {
        format!("{:.3} (loss {:.3})", m.accuracy, m.final_loss)
    });
    let _ = writeln!(
        out,
        "\n## Gradient reaching the first step: ‖∂L/∂h₁‖ / ‖∂L/∂h_T‖ (at initialisation → after training)\n"
    );
    let _ = writeln!(out, "{header}\n{rule}");
    rows(&mut out, config, results, |m| {
        format!(
            "{:.2e} → {:.2e}",
            reach(&m.init_norms),
            reach(&m.trained_norms)
        )
    });
    out
}

/// One table row per variant, one cell per length.
fn rows(
    out: &mut String,
    config: &Config,
    results: &[Measurement],
    cell: impl Fn(&Measurement) -> String,
) {
    for variant in VARIANTS {
        let _ = write!(out, "| {} |", variant_name(variant));
        for &length in &config.lengths {
            match find(results, variant, length) {
                Some(m) => {
                    let _ = write!(out, " {} |", cell(m));
                }
                None => out.push_str(" – |"),
            }
        }
        out.push('\n');
    }
}

fn find(results: &[Measurement], variant: Cell, length: usize) -> Option<&Measurement> {
    results
        .iter()
        .find(|m| m.variant == variant && m.length == length)
}

/// The share of the last step's gradient that reaches the first step:
/// `‖∂L/∂h₁‖ / ‖∂L/∂h_T‖` from norms indexed by distance.
pub fn reach(norms: &[f64]) -> f64 {
    match (norms.first(), norms.last()) {
        (Some(&last_step), Some(&first_step)) => first_step / last_step.max(1e-30),
        _ => 0.0,
    }
}

/// `gradients.png`: one panel per length, at initialisation (top) and after
/// training (bottom), log-scale norm against distance.
pub fn figure(config: &Config, results: &[Measurement]) -> Result<(), GatesError> {
    let (panel_w, panel_h) = (400.0, 400.0);
    let columns = config.lengths.len().max(1);
    let mut canvas = Canvas::new((panel_w as usize) * columns, 2 * panel_h as usize)?;
    for (c, &length) in config.lengths.iter().enumerate() {
        for (row, trained) in [(0usize, false), (1, true)] {
            let series = VARIANTS
                .iter()
                .enumerate()
                .filter_map(|(i, &v)| {
                    let m = results
                        .iter()
                        .find(|m| m.variant == v && m.length == length)?;
                    let norms = if trained {
                        &m.trained_norms
                    } else {
                        &m.init_norms
                    };
                    Some(Series::new(
                        variant_name(v),
                        PALETTE[i],
                        norms
                            .iter()
                            .enumerate()
                            .map(|(d, &n)| (d as f64, n))
                            .collect(),
                    ))
                })
                .collect();
            let chart = LineChart {
                title: format!(
                    "T = {length}, {}",
                    if trained {
                        "after training"
                    } else {
                        "at initialisation"
                    }
                ),
                x_label: "distance from the last step (T − t)".into(),
                y_label: "‖∂L/∂h_t‖".into(),
                log_y: true,
                series,
            };
            chart.draw(
                &mut canvas,
                Rect::new(c as f64 * panel_w, row as f64 * panel_h, panel_w, panel_h),
            );
        }
    }
    canvas.save_png(&config.output_dir.join("gradients.png"))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tiny() -> Config {
        Config {
            lengths: vec![6],
            steps: 40,
            batch_size: 16,
            hidden: 8,
            gradient_batches: 1,
            eval_examples: 64,
            ..Config::default()
        }
    }

    #[test]
    fn samples_put_the_key_first() {
        let config = tiny();
        let (ids, labels) = sample(&mut SplitMix64::new(1), &config, 5, 6);
        let ids: Vec<i64> = Vec::try_from(&ids.view([-1])).expect("ids");
        let labels: Vec<i64> = Vec::try_from(&labels).expect("labels");
        for (row, &label) in labels.iter().enumerate() {
            assert_eq!(ids[row * 6], label);
            assert!(ids[row * 6 + 1..row * 6 + 6]
                .iter()
                .all(|&i| i >= config.keys as i64));
        }
    }

    #[test]
    fn without_the_update_gate_the_gradient_to_the_first_step_is_smaller() {
        // A property of the cells at initialisation, not of training: with
        // Γu fixed to 1 nothing copies the state forward.
        let mut config = tiny();
        config.lengths = vec![30];
        config.steps = 1;
        let full = measure(&config, Cell::GruNoReset, 30).expect("runs");
        let no_update = measure(&config, Cell::GruNoUpdate, 30).expect("runs");
        let share = |m: &Measurement| reach(&m.init_norms);
        assert!(
            share(&full) > 10.0 * share(&no_update),
            "{} vs {}",
            share(&full),
            share(&no_update)
        );
        assert_eq!(full.init_norms.len(), 30);
    }

    #[test]
    fn writes_json_table_and_figure() {
        let dir = tempfile::tempdir().expect("tempdir");
        let config = Config {
            output_dir: dir.path().to_path_buf(),
            ..tiny()
        };
        let results = run(&config, |_| {}).expect("runs");
        assert_eq!(results.len(), 3);
        let table = std::fs::read_to_string(dir.path().join("accuracy.md")).expect("table");
        assert!(table.contains("| no-reset-gate |"), "{table}");
        let json: serde_json::Value =
            serde_json::from_slice(&std::fs::read(dir.path().join("gates.json")).expect("json"))
                .expect("parses");
        assert_eq!(json["results"][0]["variant"], "full");
        // The figure needs a font; without one the run above would have failed.
        assert!(dir.path().join("gradients.png").exists());
    }
}
