//! Search terms: how text is cut into the words the local index stores and queries match.

use std::collections::BTreeSet;

/// The longest term kept; longer words are cut (a query prefix still matches them).
const MAX_TERM_CHARS: usize = 32;

/// The distinct lowercase words of `text`: runs of letters and digits.
///
/// `ana.lopez@acme.com` yields `ana`, `lopez`, `acme`, `com`.
pub fn terms(text: &str) -> BTreeSet<String> {
    text.split(|c: char| !c.is_alphanumeric())
        .filter(|word| !word.is_empty())
        .map(|word| {
            word.chars()
                .take(MAX_TERM_CHARS)
                .flat_map(char::to_lowercase)
                .collect()
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::terms;

    #[test]
    fn terms_are_lowercase_words() {
        let found: Vec<String> =
            terms("Ana.Lopez@ACME.com asked about the Enterprise plan; Enterprise!")
                .into_iter()
                .collect();
        assert_eq!(
            found,
            [
                "about",
                "acme",
                "ana",
                "asked",
                "com",
                "enterprise",
                "lopez",
                "plan",
                "the"
            ]
        );
        assert!(terms("  -- ").is_empty());
        assert_eq!(terms("Größe Ünïcode").len(), 2);
    }
}
