//! Polyak averaging: an exponential moving average of the trainable weights.
//!
//! With a constant learning rate the weights keep wandering around a good
//! region; their running average sits nearer its middle. Training updates the
//! raw weights; validation, checkpoints and prediction use the average
//! (`train.average` in a pipeline).

use tch::Tensor;

/// The running average of a list of parameters.
#[derive(Debug)]
pub struct WeightAverage {
    decay: f64,
    steps: u64,
    params: Vec<Tensor>,
    shadow: Vec<Tensor>,
}

impl WeightAverage {
    /// Starts the average at the parameters' current values.
    pub fn new(params: &[Tensor], decay: f64) -> Self {
        let shadow = tch::no_grad(|| params.iter().map(|p| p.detach().copy()).collect());
        WeightAverage {
            decay,
            steps: 0,
            params: params.iter().map(|p| p.shallow_clone()).collect(),
            shadow,
        }
    }

    /// The decay used at the next update: short memory while few steps were
    /// taken, so the first epochs are not averaged with the initialisation.
    pub fn current_decay(&self) -> f64 {
        let t = self.steps as f64;
        self.decay.min((1.0 + t) / (10.0 + t))
    }

    /// Folds the parameters' current values into the average.
    pub fn update(&mut self) {
        let weight = 1.0 - self.current_decay();
        tch::no_grad(|| {
            for (avg, p) in self.shadow.iter_mut().zip(&self.params) {
                let _ = avg.lerp_(p, weight);
            }
        });
        self.steps += 1;
    }

    /// Exchanges the parameters' values with the average's; calling it again
    /// restores them.
    pub fn swap(&mut self) {
        tch::no_grad(|| {
            for (avg, p) in self.shadow.iter_mut().zip(&self.params) {
                let raw = p.detach().copy();
                let mut target = p.detach();
                target.copy_(avg);
                avg.copy_(&raw);
            }
        });
    }

    /// Steps folded in so far.
    pub fn steps(&self) -> u64 {
        self.steps
    }

    /// The averaged values (or the raw ones while swapped).
    pub fn shadow(&self) -> &[Tensor] {
        &self.shadow
    }

    /// Restores a saved state (for resuming).
    pub fn restore(&mut self, steps: u64, shadow: &[Tensor]) {
        self.steps = steps;
        tch::no_grad(|| {
            for (avg, saved) in self.shadow.iter_mut().zip(shadow) {
                avg.copy_(saved);
            }
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tch::{Device, Kind};

    #[test]
    fn averages_with_warm_up_and_swaps_back() {
        let p = Tensor::zeros([3], (Kind::Float, Device::Cpu)).set_requires_grad(true);
        let mut avg = WeightAverage::new(std::slice::from_ref(&p), 0.5);
        // decay at step 0 is min(0.5, 1/10) = 0.1
        assert!((avg.current_decay() - 0.1).abs() < 1e-12);
        tch::no_grad(|| {
            let _ = p.detach().fill_(10.0);
        });
        avg.update(); // 0.1 * 0 + 0.9 * 10 = 9
        assert!((avg.shadow()[0].double_value(&[1]) - 9.0).abs() < 1e-5);
        // step 1: min(0.5, 2/11) = 2/11
        tch::no_grad(|| {
            let _ = p.detach().fill_(20.0);
        });
        avg.update();
        let expected = 9.0 * 2.0 / 11.0 + 20.0 * 9.0 / 11.0;
        assert!((avg.shadow()[0].double_value(&[0]) - expected).abs() < 1e-4);
        avg.swap();
        assert!((p.double_value(&[2]) - expected).abs() < 1e-4);
        assert!(p.requires_grad());
        avg.swap();
        assert!((p.double_value(&[2]) - 20.0).abs() < 1e-6);
        assert_eq!(avg.steps(), 2);
    }
}
