//! The tags a tagger predicts, when they are written in another scheme than
//! the data's.
//!
//! A pipeline may set `model.tag_scheme = "bioes"`: the tagger then learns
//! and decodes BIOES tags (`E-X` ends an entity, `S-X` is a one-token entity;
//! the CRF's constraints follow), while the batches, the vocabulary and every
//! output stay in the data's scheme. Each training sentence's tags are
//! rewritten into the model's scheme once, when the batches are loaded, and
//! each decoded sentence is rewritten back, by way of its entity spans, so
//! the entities are the same in both. The model's tags are every tag its
//! scheme writes for the data's entity types, in the tag vocabulary's order
//! ([`ner_core::scheme::tag_set`]), so a model trained this way starts from
//! the same weights as one trained on batches converted to BIOES by
//! `ner-convert --scheme bioes`.

use std::collections::HashMap;

use ner_core::scheme::{convert, tag_set, Tag, TagScheme};

use crate::TagError;

/// The model's tags and the way between them and the data's.
#[derive(Debug, Clone, PartialEq)]
pub struct TagSet {
    data_tags: Vec<String>,
    data_scheme: TagScheme,
    model_tags: Vec<String>,
    model_scheme: TagScheme,
    /// `None` when the model predicts the data's tags as they are.
    ids: Option<Ids>,
}

/// Tag ids by name, on both sides.
#[derive(Debug, Clone, PartialEq)]
struct Ids {
    model: HashMap<String, i64>,
    data: HashMap<String, i64>,
}

impl TagSet {
    /// The data's tags (`data_tags` by id, written in `data_scheme`) and the
    /// scheme the model predicts in (`None`: the data's).
    pub fn new(
        data_tags: &[String],
        data_scheme: TagScheme,
        model_scheme: Option<TagScheme>,
    ) -> Result<Self, TagError> {
        let identity = TagSet {
            data_tags: data_tags.to_vec(),
            data_scheme,
            model_tags: data_tags.to_vec(),
            model_scheme: data_scheme,
            ids: None,
        };
        let Some(model_scheme) = model_scheme.filter(|&s| s != data_scheme) else {
            return Ok(identity);
        };
        let parsed = data_tags
            .iter()
            .map(|t| {
                Tag::parse(t).ok_or_else(|| TagError(ner_core::scheme::invalid_tag_message(t)))
            })
            .collect::<Result<Vec<_>, _>>()?;
        let model_tags = tag_set(parsed, model_scheme);
        let ids = |tags: &[String]| -> HashMap<String, i64> {
            tags.iter()
                .enumerate()
                .map(|(i, t)| (t.clone(), i as i64))
                .collect()
        };
        Ok(TagSet {
            ids: Some(Ids {
                model: ids(&model_tags),
                data: ids(data_tags),
            }),
            model_tags,
            model_scheme,
            ..identity
        })
    }

    /// The tags the model predicts, by id.
    pub fn model_tags(&self) -> &[String] {
        &self.model_tags
    }

    pub fn model_scheme(&self) -> TagScheme {
        self.model_scheme
    }

    pub fn data_tags(&self) -> &[String] {
        &self.data_tags
    }

    pub fn data_scheme(&self) -> TagScheme {
        self.data_scheme
    }

    /// Whether model and data tags are the same.
    pub fn is_identity(&self) -> bool {
        self.ids.is_none()
    }

    /// One sentence's data tag ids in the model's tags.
    pub fn to_model(&self, data_ids: &[i64]) -> Result<Vec<i64>, TagError> {
        match &self.ids {
            None => Ok(data_ids.to_vec()),
            Some(ids) => rewrite(data_ids, &self.data_tags, self.model_scheme, &ids.model),
        }
    }

    /// One sentence's predicted model tag ids in the data's tags.
    pub fn to_data(&self, model_ids: &[i64]) -> Result<Vec<i64>, TagError> {
        match &self.ids {
            None => Ok(model_ids.to_vec()),
            Some(ids) => rewrite(model_ids, &self.model_tags, self.data_scheme, &ids.data),
        }
    }
}

/// `ids` (names in `names`) rewritten in `scheme`, as ids of `target`.
fn rewrite(
    ids: &[i64],
    names: &[String],
    scheme: TagScheme,
    target: &HashMap<String, i64>,
) -> Result<Vec<i64>, TagError> {
    let tags = ids
        .iter()
        .map(|&id| {
            usize::try_from(id)
                .ok()
                .and_then(|i| names.get(i))
                .and_then(|name| Tag::parse(name))
                .ok_or_else(|| {
                    TagError(format!(
                        "tag id {id} is not one of the {} tags",
                        names.len()
                    ))
                })
        })
        .collect::<Result<Vec<_>, _>>()?;
    convert(&tags, scheme)
        .iter()
        .map(|name| {
            target
                .get(name)
                .copied()
                .ok_or_else(|| TagError(format!("tag {name} has no id among {}", names_of(target))))
        })
        .collect()
}

fn names_of(ids: &HashMap<String, i64>) -> String {
    let mut names: Vec<(&String, &i64)> = ids.iter().collect();
    names.sort_by_key(|(_, &id)| id);
    names
        .into_iter()
        .map(|(n, _)| n.as_str())
        .collect::<Vec<_>>()
        .join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn strings(s: &str) -> Vec<String> {
        s.split_whitespace().map(String::from).collect()
    }

    #[test]
    fn iob2_data_through_a_bioes_model_and_back() {
        let data = strings("O B-LOC I-LOC B-PER I-PER");
        let set = TagSet::new(&data, TagScheme::Iob2, Some(TagScheme::Bioes)).expect("tag set");
        assert_eq!(
            set.model_tags().join(" "),
            "O B-LOC I-LOC E-LOC S-LOC B-PER I-PER E-PER S-PER"
        );
        // "B-PER I-PER O B-LOC B-LOC I-LOC I-LOC"
        let sentence = [3, 4, 0, 1, 1, 2, 2];
        let model = set.to_model(&sentence).expect("to model");
        let names: Vec<&str> = model
            .iter()
            .map(|&i| set.model_tags()[i as usize].as_str())
            .collect();
        assert_eq!(names.join(" "), "B-PER E-PER O S-LOC B-LOC I-LOC E-LOC");
        assert_eq!(set.to_data(&model).expect("to data"), sentence);
    }

    #[test]
    fn the_same_scheme_is_the_identity() {
        let data = strings("O B-LOC I-LOC");
        for model in [None, Some(TagScheme::Iob2)] {
            let set = TagSet::new(&data, TagScheme::Iob2, model).expect("tag set");
            assert!(set.is_identity());
            assert_eq!(set.model_tags(), data);
            assert_eq!(set.to_model(&[1, 2, 0]).expect("ids"), [1, 2, 0]);
        }
    }

    #[test]
    fn unknown_ids_are_named() {
        let set = TagSet::new(
            &strings("O B-LOC I-LOC"),
            TagScheme::Iob2,
            Some(TagScheme::Bioes),
        )
        .expect("tag set");
        let err = set.to_model(&[0, 7]).expect_err("id 7");
        assert!(err.0.contains("tag id 7 is not one of the 3 tags"), "{err}");
    }
}
