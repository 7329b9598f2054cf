//! `@name` mentions in the text of a timeline entry.
//!
//! The syntax, precisely:
//! - a mention is `@` followed by a run of user-name characters (letters, digits, `.`, `_`,
//!   `-`), with the dots that end the run left out (`@ana.` at the end of a sentence names
//!   `ana`; `@ana.lopez` names `ana.lopez`);
//! - the `@` starts the text or follows a character that is neither a user-name character nor
//!   `@`, so `ana@acme.com` (an e-mail address) and `@@ana` mention no one;
//! - a run followed by `@` is an e-mail address written after an `@` (`@ana@acme.com`), not
//!   a mention;
//! - names match members without regard to case (`@Ana` mentions `ana`); a name no member has
//!   is ignored.

use crate::vocab::UserName;

/// The names written after `@` in `text`, as written, each once, in order of first mention;
/// not yet matched to members.
pub fn mentioned_names(text: &str) -> Vec<&str> {
    let mut names: Vec<&str> = Vec::new();
    let mut before: Option<char> = None;
    for (at, c) in text.char_indices() {
        let starts_mention = c == '@' && !before.is_some_and(|b| name_char(b) || b == '@');
        before = Some(c);
        if !starts_mention {
            continue;
        }
        let rest = &text[at + 1..];
        let end = rest.find(|c: char| !name_char(c)).unwrap_or(rest.len());
        if rest[end..].starts_with('@') {
            continue;
        }
        let name = rest[..end].trim_end_matches('.');
        if !name.is_empty() && !names.contains(&name) {
            names.push(name);
        }
    }
    names
}

/// The members `text` mentions, in member order; names that match no member are ignored.
pub fn mentioned_members<'m>(text: &str, members: &'m [UserName]) -> Vec<&'m UserName> {
    let names: Vec<String> = mentioned_names(text)
        .into_iter()
        .map(str::to_lowercase)
        .collect();
    if names.is_empty() {
        return Vec::new();
    }
    members
        .iter()
        .filter(|member| names.contains(&member.as_str().to_lowercase()))
        .collect()
}

fn name_char(c: char) -> bool {
    c.is_alphanumeric() || matches!(c, '.' | '_' | '-')
}

#[cfg(test)]
mod tests {
    use super::*;

    fn members(names: &[&str]) -> Vec<UserName> {
        names.iter().filter_map(|n| n.parse().ok()).collect()
    }

    #[test]
    fn mentions_start_at_word_boundaries_and_end_before_punctuation() {
        assert_eq!(mentioned_names("@ana please call"), ["ana"]);
        assert_eq!(mentioned_names("ask (@bo), then @cy."), ["bo", "cy"]);
        assert_eq!(
            mentioned_names("cc @ana.lopez, @ana's idea"),
            ["ana.lopez", "ana"]
        );
        assert_eq!(mentioned_names("line one\n@dee: look"), ["dee"]);
        assert_eq!(mentioned_names("@ana @ana @ana"), ["ana"]);
    }

    #[test]
    fn email_addresses_and_bare_at_signs_mention_no_one() {
        assert!(mentioned_names("write to ana@acme.com").is_empty());
        assert!(mentioned_names("write to @ana@acme.com").is_empty());
        assert!(mentioned_names("@@ana, @ alone, trailing @").is_empty());
        assert!(mentioned_names("price@10 and x@y").is_empty());
    }

    #[test]
    fn mentions_match_members_without_case_and_ignore_unknown_names() {
        let members = members(&["ana", "bo", "cy"]);
        let found = mentioned_members("@Ana and @BO, not @zed nor cy@acme.com", &members);
        let found: Vec<&str> = found.iter().map(|m| m.as_str()).collect();
        assert_eq!(found, ["ana", "bo"]);
        assert!(mentioned_members("no mention here", &members).is_empty());
    }

    #[test]
    fn mentions_read_non_ascii_names_and_never_panic_on_odd_text() {
        let members = members(&["zoë"]);
        assert_eq!(mentioned_members("merci @Zoë!", &members).len(), 1);
        for odd in ["@", "@.", "é@", "@\u{10FFFF}", "@@@", ".@.@."] {
            let _ = mentioned_names(odd);
        }
    }
}
