//! Where in a user's input something is, and what they may have meant: byte offset →
//! `line:column`, and the valid name closest to a typo. Below every room that reads input.

/// 1-based line and column (in characters) of byte `offset` in `text` (clamped to the text, and
/// back to a character boundary).
pub fn line_column(text: &str, offset: usize) -> (usize, usize) {
    let mut offset = offset.min(text.len());
    while !text.is_char_boundary(offset) {
        offset -= 1;
    }
    let before = &text[..offset];
    let line = before.matches('\n').count() + 1;
    let line_start = before.rfind('\n').map_or(0, |i| i + 1);
    (line, before[line_start..].chars().count() + 1)
}

/// The candidate closest to `name` by edit distance, if it is close enough to be a typo.
pub fn closest<'c>(name: &str, candidates: impl Iterator<Item = &'c str>) -> Option<&'c str> {
    candidates
        .map(|c| (strsim::damerau_levenshtein(name, c), c))
        .filter(|(d, c)| *d <= (c.chars().count() / 3).max(1))
        .min_by_key(|(d, _)| *d)
        .map(|(_, c)| c)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn closest_is_a_typo_not_anything() {
        let keys = ["method", "name", "buffer", "batch"];
        assert_eq!(closest("metod", keys.into_iter()), Some("method"));
        assert_eq!(closest("bufer", keys.into_iter()), Some("buffer"));
        assert_eq!(closest("frobnicate", keys.into_iter()), None);
    }

    #[test]
    fn columns_count_characters() {
        assert_eq!(line_column("a\nbé c", 5), (2, 3));
        assert_eq!(line_column("a\nbé c", 4), (2, 2));
        assert_eq!(line_column("x", 99), (1, 2));
    }
}
