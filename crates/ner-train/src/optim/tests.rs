//! The optimizers against libtorch's, and their saved states.

use super::*;
use tch::nn::{self, OptimizerConfig};

/// Parameters of a smooth least-squares problem, with fixed values (tests
/// share libtorch's global generator), and a parameter that never gets a
/// gradient (skipped, as in PyTorch).
fn problem() -> (nn::VarStore, Tensor, Tensor) {
    let vs = nn::VarStore::new(Device::Cpu);
    let root = vs.root();
    let mut w = root.var("w", &[300, 70], nn::Init::Const(0.0));
    tch::no_grad(|| {
        let values = Tensor::linspace(0.0, 300.0, 300 * 70, (Kind::Float, Device::Cpu));
        w.copy_(&values.sin().view([300, 70]));
    });
    let b = root.var("b", &[70], nn::Init::Const(0.5));
    let _unused = root.var("unused", &[3], nn::Init::Const(1.0));
    (vs, w, b)
}

/// Six steps; only some rows of w get a gradient on odd steps.
fn run(w: &Tensor, b: &Tensor, mut zero_grad: impl FnMut(), mut step: impl FnMut()) -> Vec<f32> {
    let x = Tensor::linspace(-1.0, 1.0, 8 * 300, (Kind::Float, Device::Cpu)).view([8, 300]);
    for i in 0..6 {
        zero_grad();
        let input = if i % 2 == 1 {
            x.narrow(1, 0, 150).pad([0, 150], "constant", None)
        } else {
            x.shallow_clone()
        };
        let loss = (input.matmul(w) + b - 0.3).square().mean(Kind::Float);
        loss.backward();
        step();
    }
    let mut flat = Vec::<f32>::try_from(&w.view([-1])).expect("w");
    flat.extend(Vec::<f32>::try_from(b).expect("b"));
    flat
}

fn ours(make: impl Fn(Vec<Tensor>) -> Optimizer) -> Vec<f32> {
    let (vs, w, b) = problem();
    let optimizer = std::cell::RefCell::new(make(vs.trainable_variables()));
    run(
        &w,
        &b,
        || optimizer.borrow_mut().zero_grad(),
        || optimizer.borrow_mut().step(),
    )
}

fn libtorch(config: impl OptimizerConfig) -> Vec<f32> {
    let (vs, w, b) = problem();
    let optimizer = std::cell::RefCell::new(config.build(&vs, 0.01).expect("optimizer"));
    run(
        &w,
        &b,
        || optimizer.borrow_mut().zero_grad(),
        || optimizer.borrow_mut().step(),
    )
}

fn max_diff(a: &[f32], b: &[f32]) -> f32 {
    assert_eq!(a.len(), b.len());
    a.iter()
        .zip(b)
        .map(|(x, y)| (x - y).abs())
        .fold(0.0, f32::max)
}

/// Fused and tensor Adam move parameters as libtorch's Adam does,
/// including entries whose gradient is zero.
#[test]
fn adams_match_libtorch_adam() {
    let reference = libtorch(nn::Adam::default());
    let fused = ours(|p| Optimizer::adam(p, AdamConfig::new(0.01)));
    let tensor = ours(|p| Optimizer::Adam(TensorAdam::new(p, AdamConfig::new(0.01))));
    assert!(max_diff(&fused, &reference) < 1e-6);
    assert!(max_diff(&tensor, &reference) < 1e-6);
}

/// A table looked up with sparse gradients (rows repeated within a step,
/// most rows untouched on any step), clipped, then stepped by the fused
/// Adam, moves as libtorch's Adam moves it on the dense gradient: every
/// row, every step.
#[test]
fn fused_adam_on_sparse_table_gradients_matches_libtorch_on_dense() {
    let run = |sparse: bool| -> Vec<f32> {
        let vs = nn::VarStore::new(Device::Cpu);
        let table = vs.root().var("table", &[97, 24], nn::Init::Const(0.0));
        tch::no_grad(|| {
            let values = Tensor::linspace(0.0, 50.0, 97 * 24, (Kind::Float, Device::Cpu));
            table.shallow_clone().copy_(&values.cos().view([97, 24]));
        });
        let mut fused = Optimizer::adam(vs.trainable_variables(), AdamConfig::new(0.01));
        let mut reference = nn::Adam::default().build(&vs, 0.01).expect("optimizer");
        let params = vs.trainable_variables();
        for step in 0..7i64 {
            // Rows 3·step … 3·step + 5, with rows repeated and row 96 always.
            let ids = Tensor::from_slice(&[3 * step, 3 * step + 5, 3 * step, 96, 3 * step + 2, 96])
                .view([2, 3]);
            let target = Tensor::linspace(-2.0, 2.0, 24, (Kind::Float, Device::Cpu));
            let looked_up = Tensor::embedding(&table, &ids, -1, false, sparse);
            let loss = (looked_up - target).square().sum(Kind::Float) * 40.0;
            if sparse {
                loss.backward();
                assert!(table.grad().is_sparse());
                clip_grad_norm(&params, 5.0);
                fused.step();
            } else {
                reference.zero_grad();
                loss.backward();
                clip_grad_norm(&params, 5.0);
                reference.step();
            }
        }
        Vec::<f32>::try_from(&table.view([-1])).expect("table")
    };
    // Row 0 has a gradient at step 0 only: its later moves come from
    // the moments alone, which a step over the listed rows would miss.
    let (sparse, dense) = (run(true), run(false));
    assert!(
        max_diff(&sparse, &dense) < 1e-6,
        "{}",
        max_diff(&sparse, &dense)
    );
}

#[test]
fn sgd_matches_libtorch_sgd() {
    for momentum in [0.0, 0.9] {
        let reference = libtorch(nn::Sgd {
            momentum,
            ..Default::default()
        });
        let sgd = ours(|p| Optimizer::sgd(p, 0.01, momentum));
        assert!(max_diff(&sgd, &reference) < 1e-6, "momentum {momentum}");
    }
}

/// Saving the state after three steps and loading it into a fresh
/// optimizer over copied parameters continues exactly.
#[test]
fn state_round_trip_continues_exactly() {
    let kinds: [fn(Vec<Tensor>) -> Optimizer; 3] = [
        |p| Optimizer::adam(p, AdamConfig::new(0.01)),
        |p| Optimizer::Adam(TensorAdam::new(p, AdamConfig::new(0.01))),
        |p| Optimizer::sgd(p, 0.01, 0.9),
    ];
    for make in kinds {
        let x = Tensor::linspace(-1.0, 1.0, 40, (Kind::Float, Device::Cpu)).view([4, 10]);
        let steps = |w: &Tensor, optimizer: &mut Optimizer, n: usize| {
            for _ in 0..n {
                optimizer.zero_grad();
                (x.matmul(w) - 1.0).square().sum(Kind::Float).backward();
                optimizer.step();
            }
        };
        let w = Tensor::linspace(0.0, 1.0, 30, (Kind::Float, Device::Cpu))
            .view([10, 3])
            .set_requires_grad(true);
        let mut first = make(vec![w.shallow_clone()]);
        steps(&w, &mut first, 3);
        let state = first.state();
        let w2 = w.detach().copy().set_requires_grad(true);
        let mut second = make(vec![w2.shallow_clone()]);
        second.load_state(&state).expect("same shapes");
        steps(&w, &mut first, 2);
        steps(&w2, &mut second, 2);
        assert!(w.equal(&w2));
        let wrong = make(vec![Tensor::zeros([2], (Kind::Float, Device::Cpu))]);
        assert!(make(vec![w.shallow_clone()])
            .load_state(&wrong.state())
            .is_err());
    }
}
