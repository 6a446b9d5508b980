//! Encoded batches as tensors.

use std::path::Path;

use ner_core::artifact::MappedIpc;
use ner_core::batches::BatchView;
use ner_core::schema::ArtifactKind;
use ner_core::Result;
use tch::{Device, Kind, Tensor};

/// One mini-batch as tensors.
#[derive(Debug)]
pub struct BatchTensors {
    pub sentence_ids: Vec<u32>,
    /// `[rows]`, int64.
    pub lengths: Tensor,
    /// `[rows, width]`, int64, padded with 0.
    pub word_ids: Tensor,
    /// `[rows, width]`, int64, padded with -100.
    pub tag_ids: Tensor,
    /// `[rows, width, char_width]`, int64, padded with 0.
    pub char_ids: Tensor,
    /// Per source column (the batches' order), `[rows, width]`, int64.
    pub columns: Vec<Tensor>,
}

impl BatchTensors {
    /// Copies a batch view into tensors on `device` (one copy per array).
    pub fn from_view(view: &BatchView<'_>, device: Device) -> Self {
        let rows = view.rows() as i64;
        let width = view.width as i64;
        let lengths: Vec<i64> = view.lengths.iter().map(|&l| i64::from(l)).collect();
        BatchTensors {
            sentence_ids: view.sentence_ids.to_vec(),
            lengths: Tensor::from_slice(&lengths).to_device(device),
            word_ids: Tensor::from_slice(view.word_ids)
                .view([rows, width])
                .to_device(device),
            tag_ids: Tensor::from_slice(view.tag_ids)
                .view([rows, width])
                .to_device(device),
            // Stored as int32; the layers index with int64.
            char_ids: Tensor::from_slice(view.char_ids)
                .to_kind(Kind::Int64)
                .view([rows, width, view.char_width as i64])
                .to_device(device),
            columns: view
                .columns
                .iter()
                .map(|ids| {
                    Tensor::from_slice(ids)
                        .view([rows, width])
                        .to_device(device)
                })
                .collect(),
        }
    }

    /// Positions holding a real token: `[rows, width]` booleans.
    pub fn mask(&self) -> Tensor {
        let width = self.word_ids.size()[1];
        Tensor::arange(width, (Kind::Int64, self.lengths.device()))
            .unsqueeze(0)
            .lt_tensor(&self.lengths.unsqueeze(1))
    }

    /// Number of real tokens in the batch.
    pub fn n_tokens(&self) -> i64 {
        self.lengths.sum(Kind::Int64).int64_value(&[])
    }
}

/// An encoded split, memory-mapped.
#[derive(Debug)]
pub struct EncodedSplit {
    file: MappedIpc,
}

impl EncodedSplit {
    pub fn open(path: &Path) -> Result<Self> {
        Ok(EncodedSplit {
            file: MappedIpc::open(path, ArtifactKind::Batches)?,
        })
    }

    pub fn file(&self) -> &MappedIpc {
        &self.file
    }

    pub fn num_batches(&self) -> usize {
        self.file.num_batches()
    }

    /// Batch `index` as tensors on `device`.
    pub fn batch(&self, index: usize, device: Device) -> Result<BatchTensors> {
        let batch = self.file.batch(index)?;
        let view = BatchView::new(&batch, self.file.path())?;
        Ok(BatchTensors::from_view(&view, device))
    }

    pub fn iter(&self, device: Device) -> impl Iterator<Item = Result<BatchTensors>> + '_ {
        (0..self.num_batches()).map(move |i| self.batch(i, device))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn libtorch_computes() {
        let t = Tensor::from_slice(&[1.0f32, 2.0, 3.0]).view([3, 1]);
        let product = t.matmul(&t.tr());
        assert_eq!(product.size(), vec![3, 3]);
        assert_eq!(product.double_value(&[2, 1]), 6.0);
        assert_eq!(product.sum(Kind::Float).double_value(&[]), 36.0);
    }

    #[test]
    fn encoded_batches_become_tensors() {
        let dir = tempfile::tempdir().expect("tempdir");
        let corpus = dir.path().join("train.txt");
        std::fs::write(&corpus, "EU B-ORG\nrejects O\ncalls O\n\nPeter B-PER\n").expect("write");
        let sentences = dir.path().join("train.parquet");
        ner_convert::convert(&ner_convert::Config::new(&corpus, &sentences)).expect("convert");
        let vocab = dir.path().join("vocab");
        ner_vocab::build(&ner_vocab::Config::new(&sentences, &vocab)).expect("vocab");
        let encoded = dir.path().join("train.arrow");
        let mut config =
            ner_encode::Config::new(&sentences, ner_encode::VocabPaths::in_dir(&vocab), &encoded);
        config.order = ner_encode::Order::Sequential;
        ner_encode::encode(&config).expect("encode");

        let split = EncodedSplit::open(&encoded).expect("open");
        assert_eq!(split.num_batches(), 1);
        let batch = split.batch(0, Device::Cpu).expect("batch");
        assert_eq!(batch.sentence_ids, vec![0, 1]);
        assert_eq!(batch.word_ids.size(), vec![2, 3]);
        assert_eq!(
            Vec::<i64>::try_from(&batch.word_ids.view([-1])).expect("ids"),
            vec![2, 3, 4, 5, 0, 0]
        );
        assert_eq!(
            Vec::<i64>::try_from(&batch.tag_ids.view([-1])).expect("ids"),
            vec![1, 0, 0, 2, -100, -100]
        );
        assert_eq!(batch.char_ids.size(), vec![2, 3, 7]);
        assert_eq!(batch.n_tokens(), 4);
        assert_eq!(batch.mask().sum(Kind::Int64).int64_value(&[]), 4);
    }
}
