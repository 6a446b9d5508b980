//! Adam in tensor operations, for any device.

use tch::Tensor;

use super::AdamConfig;

/// Adam (no weight decay, no AMSGrad) in tensor operations, as PyTorch's
/// single-tensor implementation computes it.
#[derive(Debug)]
pub struct TensorAdam {
    pub(super) params: Vec<Tensor>,
    pub(super) exp_avg: Vec<Tensor>,
    pub(super) exp_avg_sq: Vec<Tensor>,
    pub(super) config: AdamConfig,
    pub(super) steps: i64,
}

impl TensorAdam {
    pub(super) fn new(params: Vec<Tensor>, config: AdamConfig) -> Self {
        TensorAdam {
            exp_avg: params.iter().map(Tensor::zeros_like).collect(),
            exp_avg_sq: params.iter().map(Tensor::zeros_like).collect(),
            params,
            config,
            steps: 0,
        }
    }

    pub(super) fn step(&mut self) {
        self.steps += 1;
        let c = self.config;
        let bias1 = 1.0 - c.beta1.powi(self.steps as i32);
        let bias2_sqrt = (1.0 - c.beta2.powi(self.steps as i32)).sqrt();
        let _guard = tch::no_grad_guard();
        for ((param, exp_avg), exp_avg_sq) in self
            .params
            .iter()
            .zip(&mut self.exp_avg)
            .zip(&mut self.exp_avg_sq)
        {
            let grad = param.grad();
            if !grad.defined() {
                continue;
            }
            let _ = exp_avg.lerp_(&grad, 1.0 - c.beta1);
            let _ = exp_avg_sq
                .g_mul_scalar_(c.beta2)
                .addcmul_(&grad, &(grad.g_mul_scalar(1.0 - c.beta2)));
            let denom = (exp_avg_sq.sqrt() / bias2_sqrt) + c.eps;
            let _ = param
                .shallow_clone()
                .addcdiv_(&exp_avg.g_mul_scalar(-c.lr / bias1), &denom);
        }
    }
}
