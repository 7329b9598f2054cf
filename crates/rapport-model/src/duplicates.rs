//! Likely duplicates: accounts with the same web domain or (nearly) the same name, contacts with
//! the same email or, within one account, the same name. Each pair says why.
//!
//! Accounts are never compared all against all: they are grouped by normalized domain, by name
//! key, and by the first letters of the name key, and only accounts of one group are compared.
//! 10,000 accounts are a few thousand small groups.

use std::collections::{BTreeMap, HashMap};

use serde::Serialize;

use crate::id::{ContactId, DocumentId};

/// Words that say what legal form a company has, dropped from the end of a name to compare it.
const LEGAL_SUFFIXES: [&str; 22] = [
    "inc",
    "incorporated",
    "ltd",
    "limited",
    "llc",
    "llp",
    "lp",
    "gmbh",
    "ag",
    "sa",
    "sas",
    "sarl",
    "srl",
    "spa",
    "bv",
    "nv",
    "plc",
    "corp",
    "corporation",
    "co",
    "company",
    "oy",
];
/// How many letters of the name key group accounts whose names may be near each other.
const PREFIX_LETTERS: usize = 3;
/// Jaro-Winkler similarity from which two different name keys are called similar...
const SIMILAR: f64 = 0.92;
/// ...when they also differ by at most one edit per this many letters (at least one edit):
/// Jaro-Winkler alone pairs names that merely start alike.
const LETTERS_PER_EDIT: usize = 10;
/// Name keys shorter than this are only ever compared for equality: short names are too
/// often near each other by chance.
const SHORTEST_SIMILAR: usize = 4;
/// A group larger than this (a shared webmail domain, a name prefix half the workspace has) is
/// not turned into pairs: it says nothing about any two of its members.
const LARGEST_GROUP: usize = 50;

/// An account as duplicate detection sees it.
#[derive(Clone, Debug, Serialize, PartialEq, Eq)]
pub struct AccountRow {
    /// Document id.
    pub id: DocumentId,
    /// Name.
    pub name: String,
    /// Web domain, as entered.
    pub domain: Option<String>,
}

/// A contact as duplicate detection sees it.
#[derive(Clone, Debug, Serialize, PartialEq, Eq)]
pub struct ContactRow {
    /// The account holding it.
    pub account: DocumentId,
    /// Contact id.
    pub id: ContactId,
    /// Full name.
    pub name: String,
    /// Email, as entered.
    pub email: Option<String>,
}

/// Why two records look like the same one.
#[derive(Clone, Debug, Serialize, PartialEq)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Reason {
    /// Both accounts have this domain, once normalized.
    SameDomain {
        /// The normalized domain.
        domain: String,
    },
    /// Both names read the same without case, punctuation and legal suffixes.
    SameName {
        /// The normalized name.
        name: String,
    },
    /// The normalized names differ by little.
    SimilarName {
        /// Jaro-Winkler similarity of the normalized names, 0 to 1.
        similarity: f64,
    },
    /// Both contacts have this email, ignoring case.
    SameEmail {
        /// The email, lower case.
        email: String,
    },
}

/// Two accounts that look like one.
#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct AccountPair {
    /// The one with the smaller id.
    pub a: AccountRow,
    /// The other.
    pub b: AccountRow,
    /// Why, at least one reason.
    pub reasons: Vec<Reason>,
}

/// Two contacts that look like one person.
#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct ContactPair {
    /// The one with the smaller id.
    pub a: ContactRow,
    /// The other.
    pub b: ContactRow,
    /// Why, at least one reason.
    pub reasons: Vec<Reason>,
}

/// A domain as people type it (`https://www.Acme.com/about`), reduced to `acme.com`; `None`
/// when nothing is left.
pub fn normalize_domain(text: &str) -> Option<String> {
    let lower = text.trim().to_lowercase();
    let without_scheme = lower
        .split_once("://")
        .map_or(lower.as_str(), |(_, rest)| rest);
    let host = without_scheme
        .split(['/', '?', '#'])
        .next()
        .unwrap_or_default();
    let host = host.rsplit_once('@').map_or(host, |(_, host)| host);
    let host = host.split(':').next().unwrap_or_default();
    let host = host.trim_end_matches('.');
    let host = host.strip_prefix("www.").unwrap_or(host);
    (!host.is_empty()).then(|| host.to_owned())
}

/// A company name reduced for comparison: lower case, punctuation gone, and legal suffixes
/// (`Inc`, `Ltd`, `GmbH`, `S.A.`, ...) dropped from the end. `Acme, Inc.` and `ACME` share
/// the key `acme`.
pub fn name_key(name: &str) -> String {
    let mut words = words(name);
    while words.len() > 1
        && words
            .last()
            .is_some_and(|last| LEGAL_SUFFIXES.contains(&last.as_str()))
    {
        words.pop();
    }
    if words.len() > 1 && words[0] == "the" {
        words.remove(0);
    }
    words.join(" ")
}

/// A person's name reduced for comparison: lower case, punctuation gone.
fn person_key(name: &str) -> String {
    words(name).join(" ")
}

/// The lower-case words of `text`; dots and apostrophes join letters (`S.A.` is `sa`), other
/// punctuation separates them.
fn words(text: &str) -> Vec<String> {
    let mut cleaned = String::with_capacity(text.len());
    for c in text.chars().flat_map(char::to_lowercase) {
        if c.is_alphanumeric() {
            cleaned.push(c);
        } else if !matches!(c, '.' | '\'' | '’') {
            cleaned.push(' ');
        }
    }
    cleaned.split_whitespace().map(str::to_owned).collect()
}

/// Pairs of accounts that look like the same company, each with its reasons, ordered by the
/// first account's name.
pub fn account_pairs(accounts: &[AccountRow]) -> Vec<AccountPair> {
    let keys: Vec<String> = accounts.iter().map(|a| name_key(&a.name)).collect();
    let mut found = Found::default();
    let by_domain = group(accounts.iter().enumerate().filter_map(|(i, account)| {
        let domain = normalize_domain(account.domain.as_deref()?)?;
        Some((domain, i))
    }));
    for (domain, members) in &by_domain {
        found.all_pairs(members, || Reason::SameDomain {
            domain: domain.clone(),
        });
    }
    let by_name = group(
        keys.iter()
            .enumerate()
            .filter(|(_, key)| !key.is_empty())
            .map(|(i, key)| (key.clone(), i)),
    );
    for (name, members) in &by_name {
        found.all_pairs(members, || Reason::SameName { name: name.clone() });
    }
    // One representative per distinct key: equal keys are paired above already.
    let by_prefix = group(by_name.keys().filter_map(|key| {
        let prefix: String = key.chars().take(PREFIX_LETTERS).collect();
        (key.chars().count() >= SHORTEST_SIMILAR).then_some((prefix, key.as_str()))
    }));
    for close_keys in by_prefix
        .values()
        .filter(|keys| keys.len() <= LARGEST_GROUP * 4)
    {
        for (n, first) in close_keys.iter().enumerate() {
            for second in &close_keys[n + 1..] {
                let similarity = jaro_winkler(first, second);
                if similarity >= SIMILAR && few_edits_apart(first, second) {
                    let rounded = (similarity * 100.0).round() / 100.0;
                    for &i in &by_name[*first] {
                        for &j in &by_name[*second] {
                            found.add(
                                i,
                                j,
                                Reason::SimilarName {
                                    similarity: rounded,
                                },
                            );
                        }
                    }
                }
            }
        }
    }
    let mut pairs: Vec<AccountPair> = found
        .into_pairs(|i| accounts[i].id.to_string())
        .into_iter()
        .map(|(i, j, reasons)| AccountPair {
            a: accounts[i].clone(),
            b: accounts[j].clone(),
            reasons,
        })
        .collect();
    pairs.sort_by_cached_key(|p| (p.a.name.to_lowercase(), p.b.name.to_lowercase()));
    pairs
}

/// Pairs of contacts that look like the same person: the same email anywhere, or the same
/// name within one account.
pub fn contact_pairs(contacts: &[ContactRow]) -> Vec<ContactPair> {
    let mut found = Found::default();
    let by_email = group(contacts.iter().enumerate().filter_map(|(i, contact)| {
        let email = contact.email.as_deref()?.trim().to_lowercase();
        (!email.is_empty()).then_some((email, i))
    }));
    for (email, members) in &by_email {
        found.all_pairs(members, || Reason::SameEmail {
            email: email.clone(),
        });
    }
    let by_name = group(contacts.iter().enumerate().filter_map(|(i, contact)| {
        let name = person_key(&contact.name);
        (!name.is_empty()).then_some(((contact.account, name), i))
    }));
    for ((_, name), members) in &by_name {
        found.all_pairs(members, || Reason::SameName { name: name.clone() });
    }
    let mut pairs: Vec<ContactPair> = found
        .into_pairs(|i| contacts[i].id.to_string())
        .into_iter()
        .map(|(i, j, reasons)| ContactPair {
            a: contacts[i].clone(),
            b: contacts[j].clone(),
            reasons,
        })
        .collect();
    pairs.sort_by_cached_key(|p| (p.a.name.to_lowercase(), p.a.id, p.b.id));
    pairs
}

fn group<K: Ord, V>(items: impl Iterator<Item = (K, V)>) -> BTreeMap<K, Vec<V>> {
    let mut groups: BTreeMap<K, Vec<V>> = BTreeMap::new();
    for (key, value) in items {
        groups.entry(key).or_default().push(value);
    }
    groups
}

/// Pairs found so far (by index into the rows), with their reasons.
#[derive(Default)]
struct Found {
    pairs: HashMap<(usize, usize), Vec<Reason>>,
}

impl Found {
    fn add(&mut self, i: usize, j: usize, reason: Reason) {
        if i == j {
            return;
        }
        let reasons = self.pairs.entry((i.min(j), i.max(j))).or_default();
        if !reasons.contains(&reason) {
            reasons.push(reason);
        }
    }

    fn all_pairs(&mut self, members: &[usize], reason: impl Fn() -> Reason) {
        if members.len() > LARGEST_GROUP {
            return;
        }
        for (n, &i) in members.iter().enumerate() {
            for &j in &members[n + 1..] {
                self.add(i, j, reason());
            }
        }
    }

    /// Each pair once, the row with the smaller id first.
    fn into_pairs(self, id: impl Fn(usize) -> String) -> Vec<(usize, usize, Vec<Reason>)> {
        self.pairs
            .into_iter()
            .map(|((i, j), reasons)| {
                if id(i) <= id(j) {
                    (i, j, reasons)
                } else {
                    (j, i, reasons)
                }
            })
            .collect()
    }
}

/// Whether `a` becomes `b` in at most one edit (insert, delete, replace a letter) per
/// [`LETTERS_PER_EDIT`] letters of the longer, and at least one.
fn few_edits_apart(a: &str, b: &str) -> bool {
    let (a, b): (Vec<char>, Vec<char>) = (a.chars().collect(), b.chars().collect());
    let allowed = (a.len().max(b.len()) / LETTERS_PER_EDIT).max(1);
    if a.len().abs_diff(b.len()) > allowed {
        return false;
    }
    // Levenshtein distance, one row at a time.
    let mut previous: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.iter().enumerate() {
        let mut current = vec![i + 1; b.len() + 1];
        for (j, cb) in b.iter().enumerate() {
            let replace = previous[j] + usize::from(ca != cb);
            current[j + 1] = replace.min(previous[j + 1] + 1).min(current[j] + 1);
        }
        previous = current;
    }
    previous[b.len()] <= allowed
}

/// Jaro-Winkler similarity of two strings, by characters: 1 for equal strings, near 1 for
/// strings that differ by a letter or two, lower the more they differ.
fn jaro_winkler(a: &str, b: &str) -> f64 {
    let (a, b): (Vec<char>, Vec<char>) = (a.chars().collect(), b.chars().collect());
    if a.is_empty() || b.is_empty() {
        return if a == b { 1.0 } else { 0.0 };
    }
    let window = (a.len().max(b.len()) / 2).saturating_sub(1);
    let mut b_taken = vec![false; b.len()];
    let mut a_matched = Vec::new();
    for (i, ca) in a.iter().enumerate() {
        let start = i.saturating_sub(window);
        let end = (i + window + 1).min(b.len());
        if let Some(j) = (start..end).find(|&j| !b_taken[j] && b[j] == *ca) {
            b_taken[j] = true;
            a_matched.push(*ca);
        }
    }
    if a_matched.is_empty() {
        return 0.0;
    }
    let b_matched = b
        .iter()
        .zip(&b_taken)
        .filter(|(_, taken)| **taken)
        .map(|(c, _)| c);
    let transposed = a_matched
        .iter()
        .zip(b_matched)
        .filter(|(x, y)| x != y)
        .count();
    let m = a_matched.len() as f64;
    let jaro = (m / a.len() as f64 + m / b.len() as f64 + (m - transposed as f64 / 2.0) / m) / 3.0;
    let prefix = a.iter().zip(&b).take(4).take_while(|(x, y)| x == y).count() as f64;
    jaro + prefix * 0.1 * (1.0 - jaro)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    fn account(n: u8, name: &str, domain: Option<&str>) -> AccountRow {
        AccountRow {
            id: DocumentId::from_bytes([n; 16]),
            name: name.into(),
            domain: domain.map(str::to_owned),
        }
    }

    fn names(pairs: &[AccountPair]) -> Vec<(String, String)> {
        let mut names: Vec<(String, String)> = pairs
            .iter()
            .map(|p| {
                let mut two = [p.a.name.clone(), p.b.name.clone()];
                two.sort();
                let [x, y] = two;
                (x, y)
            })
            .collect();
        names.sort();
        names
    }

    #[test]
    fn domains_lose_scheme_www_path_port_and_case() {
        assert_eq!(
            normalize_domain("https://www.Acme.com/about?x=1").unwrap(),
            "acme.com"
        );
        assert_eq!(normalize_domain("ACME.com.").unwrap(), "acme.com");
        assert_eq!(normalize_domain("acme.com:8443").unwrap(), "acme.com");
        assert_eq!(normalize_domain("   "), None);
        assert_eq!(normalize_domain("http://"), None);
    }

    #[test]
    fn names_lose_case_punctuation_and_legal_suffixes() {
        assert_eq!(name_key("Acme, Inc."), "acme");
        assert_eq!(name_key("ACME Corp"), "acme");
        assert_eq!(name_key("Müller GmbH"), "müller");
        assert_eq!(name_key("Banco Rio S.A."), "banco rio");
        assert_eq!(
            name_key("Limited Ltd"),
            "limited",
            "a name is never emptied"
        );
        assert_eq!(name_key("The Acme Company"), "acme");
        assert_eq!(name_key("Acme Widgets Ltd"), "acme widgets");
    }

    #[test]
    fn same_domain_same_name_and_similar_names_pair_and_unrelated_names_do_not() {
        let rows = [
            account(1, "Acme", Some("acme.com")),
            account(2, "ACME Inc.", None),
            account(3, "Acme Holdings", Some("https://www.acme.com/")),
            account(4, "Globex Corporation", Some("globex.com")),
            account(5, "Glowbex Corp", None),
            account(6, "Initech", Some("initech.com")),
            account(7, "Umbrella", Some("umbrella.org")),
        ];
        let pairs = account_pairs(&rows);
        assert_eq!(
            names(&pairs),
            [
                ("ACME Inc.".into(), "Acme".into()),
                ("Acme".into(), "Acme Holdings".into()),
                ("Globex Corporation".into(), "Glowbex Corp".into()),
            ]
        );
        let pair = |x: &AccountRow, y: &AccountRow| {
            pairs
                .iter()
                .find(|p| {
                    [&p.a.id, &p.b.id] == [&x.id, &y.id] || [&p.a.id, &p.b.id] == [&y.id, &x.id]
                })
                .unwrap()
        };
        let acme = pair(&rows[0], &rows[2]);
        assert_eq!(
            acme.reasons,
            [Reason::SameDomain {
                domain: "acme.com".into()
            }]
        );
        let same = pair(&rows[0], &rows[1]);
        assert_eq!(
            same.reasons,
            [Reason::SameName {
                name: "acme".into()
            }]
        );
        let globex = pair(&rows[3], &rows[4]);
        assert!(
            matches!(globex.reasons[..], [Reason::SimilarName { similarity }] if similarity >= SIMILAR)
        );
    }

    #[test]
    fn contacts_pair_by_email_anywhere_and_by_name_within_an_account() {
        let [one, two] = [1u8, 2].map(|n| DocumentId::from_bytes([n; 16]));
        let contact = |account, name: &str, email: Option<&str>| ContactRow {
            account,
            id: ContactId::new(),
            name: name.into(),
            email: email.map(str::to_owned),
        };
        let rows = [
            contact(one, "Hank Scorpio", Some("hank@globex.com")),
            contact(two, "H. Scorpio", Some("HANK@globex.com ")),
            contact(one, "Dana Lee", None),
            contact(one, "dana lee", Some("dana@acme.com")),
            contact(two, "Dana Lee", None),
            contact(two, "Sam Roe", Some("sam@acme.com")),
        ];
        let pairs = contact_pairs(&rows);
        assert_eq!(pairs.len(), 2, "{pairs:#?}");
        let by_email = pairs.iter().find(|p| p.a.name.contains("Scorpio")).unwrap();
        assert_eq!(
            by_email.reasons,
            [Reason::SameEmail {
                email: "hank@globex.com".into()
            }]
        );
        let by_name = pairs
            .iter()
            .find(|p| p.a.name.to_lowercase() == "dana lee")
            .unwrap();
        assert_eq!(by_name.a.account, one);
        assert_eq!(by_name.b.account, one);
    }

    #[test]
    fn ten_thousand_accounts_are_grouped_not_compared_pairwise() {
        let syllables = ["ka", "lo", "mi", "ne", "ru", "ta", "vo", "xe", "zu", "pi"];
        let rows: Vec<AccountRow> = (0..10_000u32)
            .map(|n| {
                let name: String = [n % 10, n / 10 % 10, n / 100 % 10, n / 1000 % 10]
                    .iter()
                    .map(|&d| syllables[d as usize])
                    .collect();
                AccountRow {
                    id: DocumentId::from_bytes(u128::from(n).to_le_bytes()),
                    name: format!("{name} Ltd"),
                    domain: Some(format!("{name}.com")),
                }
            })
            .collect();
        let started = std::time::Instant::now();
        let pairs = account_pairs(&rows);
        let took = started.elapsed();
        println!("10,000 accounts: {} pairs in {took:?}", pairs.len());
        assert!(pairs.iter().all(|p| p.a.id != p.b.id));
    }

    #[test]
    fn names_that_only_start_alike_are_not_similar() {
        assert!(few_edits_apart("globex", "glowbex"));
        assert!(
            !few_edits_apart("voxemizu", "voxezu"),
            "two edits in eight letters"
        );
        assert!(few_edits_apart(
            "international widgets",
            "internationl wigets"
        ));
        let rows = [
            account(1, "Global Industries", None),
            account(2, "Global Investments", None),
        ];
        assert_eq!(account_pairs(&rows), []);
    }

    #[test]
    fn jaro_winkler_is_one_for_equal_and_low_for_unrelated() {
        assert_eq!(jaro_winkler("acme", "acme"), 1.0);
        assert!(jaro_winkler("martha", "marhta") > 0.95);
        assert!(jaro_winkler("globex", "initech") < 0.6);
        assert_eq!(jaro_winkler("", "x"), 0.0);
    }
}
