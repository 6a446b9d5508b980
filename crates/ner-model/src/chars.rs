//! What the character features read from the character vocabulary: the
//! case of each character, and the four casing classes of a word.

/// Case flags per character id, from the character vocabulary.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct CharClasses {
    /// `upper[id]`, `lower[id]`: whether the character is upper/lower case.
    pub upper: Vec<bool>,
    pub lower: Vec<bool>,
}

impl CharClasses {
    /// Flags for the characters of a vocabulary, in id order.
    pub fn from_chars<'a>(chars: impl Iterator<Item = &'a str>) -> Self {
        let mut out = CharClasses::default();
        for key in chars {
            // Specials (`<PAD>`, `<UNK>`) are longer than one character.
            let single = {
                let mut it = key.chars();
                match (it.next(), it.next()) {
                    (Some(c), None) => Some(c),
                    _ => None,
                }
            };
            out.upper.push(single.is_some_and(char::is_uppercase));
            out.lower.push(single.is_some_and(char::is_lowercase));
        }
        out
    }
}

/// Casing classes: 0 no upper-case letter, 1 no lower-case letter (but some
/// upper-case), 2 first character upper-case, 3 anything else (mixed).
pub const CASING_CLASSES: i64 = 4;

impl CharClasses {
    /// The casing class of a word from its character ids (0 = padding):
    /// 0 no upper-case letter; 1 upper-case letters but no lower-case; 2 the
    /// first character upper-case (and some lower-case); 3 anything else.
    /// Ids outside the vocabulary count as neither.
    pub fn casing(&self, char_ids: &[i64]) -> i64 {
        let flag = |flags: &[bool], id: i64| {
            usize::try_from(id)
                .ok()
                .and_then(|i| flags.get(i))
                .copied()
                .unwrap_or(false)
        };
        let has_upper = char_ids.iter().any(|&c| flag(&self.upper, c));
        let has_lower = char_ids.iter().any(|&c| flag(&self.lower, c));
        let first_upper = char_ids.first().is_some_and(|&c| flag(&self.upper, c));
        match (has_upper, has_lower, first_upper) {
            (false, _, _) => 0,
            (true, false, _) => 1,
            (true, true, true) => 2,
            (true, true, false) => 3,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn casing_classes_of_words() {
        // ids: 0 <PAD>, 1 <UNK>, 2 'a', 3 'B', 4 '1'
        let classes = CharClasses::from_chars(["<PAD>", "<UNK>", "a", "B", "1"].into_iter());
        assert_eq!(classes.upper, [false, false, false, true, false]);
        assert_eq!(classes.lower, [false, false, true, false, false]);
        // "aa", "BB", "Ba", "aB", "11", "", an id outside the vocabulary
        let words: [&[i64]; 7] = [&[2, 2], &[3, 3], &[3, 2], &[2, 3], &[4, 4], &[], &[3, 9]];
        let got: Vec<i64> = words.iter().map(|w| classes.casing(w)).collect();
        assert_eq!(got, [0, 1, 2, 3, 0, 0, 1]);
    }
}
