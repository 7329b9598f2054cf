//! A touched part of an account as a [`FieldEdit`]: its value read before the change (at the
//! change's dependencies) and after it (at the change itself). Reads here never fail: a value of
//! an unexpected type is shown as it is, a missing one as absent.

use automerge::{Automerge, ChangeHash, ObjId, ObjType, Prop, ROOT, ReadDoc, ScalarValue, Value};

use super::FieldEdit;
use super::subject::Subject;
use crate::schema::*;
use crate::vocab::{Currency, Money};

/// How many items of a list are shown.
const LIST_ITEMS: usize = 20;

/// The document as it was at one point of its history.
pub(super) struct At<'d> {
    doc: &'d Automerge,
    heads: &'d [ChangeHash],
}

impl<'d> At<'d> {
    pub(super) fn new(doc: &'d Automerge, heads: &'d [ChangeHash]) -> Self {
        Self { doc, heads }
    }

    fn get(&self, obj: &ObjId, prop: impl Into<Prop>) -> Option<(Value<'d>, ObjId)> {
        self.doc.get_at(obj, prop, self.heads).ok().flatten()
    }

    /// The map at `obj[key]`.
    fn map(&self, obj: &ObjId, key: &str) -> Option<ObjId> {
        match self.get(obj, key)? {
            (Value::Object(ObjType::Map | ObjType::Table), id) => Some(id),
            _ => None,
        }
    }

    /// The map of item `id` in collection `section`.
    fn item(&self, section: &str, id: &str) -> Option<ObjId> {
        self.map(&self.map(&ROOT, section)?, id)
    }

    /// The value at `obj[key]` for people.
    pub(super) fn text(&self, obj: &ObjId, key: &str) -> Option<String> {
        let (value, id) = self.get(obj, key)?;
        Some(self.display(&value, &id))
    }

    /// As [`At::text`], with the values of concurrent writes that are still kept beside the
    /// winning one: `customer | churned`.
    fn values(&self, obj: &ObjId, key: &str) -> Option<String> {
        let mut shown = vec![self.text(obj, key)?];
        for (value, id) in self
            .doc
            .get_all_at(obj, key, self.heads)
            .unwrap_or_default()
        {
            let text = self.display(&value, &id);
            if !shown.contains(&text) {
                shown.push(text);
            }
        }
        Some(shown.join(" | "))
    }

    fn boolean(&self, obj: &ObjId, key: &str) -> Option<bool> {
        match self.get(obj, key)? {
            (Value::Scalar(scalar), _) => match scalar.as_ref() {
                ScalarValue::Boolean(b) => Some(*b),
                _ => None,
            },
            _ => None,
        }
    }

    /// A deal's amount in its currency (`1200.00 EUR`), or the raw value when it is not a
    /// whole number.
    fn amount(&self, deal: &ObjId) -> Option<String> {
        let (value, id) = self.get(deal, "amount")?;
        let minor = match value.as_scalar() {
            Some(ScalarValue::Int(minor)) => *minor,
            Some(ScalarValue::Uint(minor)) if i64::try_from(*minor).is_ok() => *minor as i64,
            Some(ScalarValue::F64(minor)) if minor.fract() == 0.0 && minor.abs() < 9.0e15 => {
                *minor as i64
            }
            _ => return Some(self.display(&value, &id)),
        };
        let currency = self
            .text(deal, "currency")
            .map_or(Ok(Currency::DEFAULT), |code| code.parse());
        Some(match currency {
            Ok(currency) => Money { minor, currency }.to_string(),
            Err(_) => minor.to_string(),
        })
    }

    /// The value at the end of `path` from the root.
    fn path(&self, path: &[Prop]) -> Option<String> {
        let (last, parents) = path.split_last()?;
        let mut obj = ROOT;
        for prop in parents {
            match self.get(&obj, prop.clone())? {
                (Value::Object(_), id) => obj = id,
                _ => return None,
            }
        }
        let (value, id) = self.get(&obj, last.clone())?;
        Some(self.display(&value, &id))
    }

    /// A value for people: a list as its first items, other objects by their kind.
    fn display(&self, value: &Value<'_>, id: &ObjId) -> String {
        if let Value::Object(ObjType::List) = value {
            let items: Vec<String> = self
                .doc
                .list_range_at(id, .., self.heads)
                .take(LIST_ITEMS)
                .map(|item| self.flat(&Value::from(item.value.clone()), &item.id()))
                .collect();
            return format!("[{}]", items.join(", "));
        }
        self.flat(value, id)
    }

    /// A value for people, without looking into objects other than texts (a peer's document
    /// may nest without bound).
    fn flat(&self, value: &Value<'_>, id: &ObjId) -> String {
        match value {
            Value::Object(ObjType::Text) => self.doc.text_at(id, self.heads).unwrap_or_default(),
            Value::Object(kind) => format!("({kind:?})").to_lowercase(),
            Value::Scalar(scalar) => match scalar.as_ref() {
                ScalarValue::Str(s) => s.to_string(),
                other => other.to_string(),
            },
        }
    }
}

/// Whether the change between `before` and `after` created the account.
pub(super) fn creates(before: &At<'_>, after: &At<'_>) -> bool {
    before.get(&ROOT, TYPE).is_none() && after.text(&ROOT, TYPE).as_deref() == Some(ACCOUNT_TYPE)
}

/// What the change did to `subject`; `None` when it left it as it was.
pub(super) fn describe(subject: &Subject, before: &At<'_>, after: &At<'_>) -> Option<FieldEdit> {
    match subject {
        Subject::Field(key) => field(key.clone(), key, before, after, |_| Some(ROOT)),
        Subject::Custom(key) => field(format!("{CUSTOM}.{key}"), key, before, after, |at| {
            at.map(&ROOT, CUSTOM)
        }),
        Subject::Tag(tag) => {
            let has = |at: &At<'_>| {
                at.map(&ROOT, TAGS)
                    .is_some_and(|tags| at.get(&tags, tag.as_str()).is_some())
            };
            match (has(before), has(after)) {
                (false, true) => Some(FieldEdit::TagAdded { tag: tag.clone() }),
                (true, false) => Some(FieldEdit::TagRemoved { tag: tag.clone() }),
                _ => None,
            }
        }
        Subject::Item(section, id) => item(section, id, before, after),
        Subject::ItemField(section, id, key) => item_field(section, id, key, before, after),
        Subject::Ack(key) => acknowledged(key, before, after),
        Subject::Follower(key) => followed(key, before, after),
        Subject::Other(path) => other(path, before, after),
    }
}

/// The single-valued field `key` of the map `parent` finds at each point, shown as `name`.
fn field(
    name: String,
    key: &str,
    before: &At<'_>,
    after: &At<'_>,
    parent: impl Fn(&At<'_>) -> Option<ObjId>,
) -> Option<FieldEdit> {
    let read = |at: &At<'_>| parent(at).and_then(|obj| at.values(&obj, key));
    let (from, to) = changed(read(before), read(after))?;
    Some(FieldEdit::Field {
        field: name,
        from,
        to,
    })
}

/// The two values, when they differ.
fn changed(from: Option<String>, to: Option<String>) -> Option<(Option<String>, Option<String>)> {
    (from != to).then_some((from, to))
}

fn item(section: &'static str, id: &str, before: &At<'_>, after: &At<'_>) -> Option<FieldEdit> {
    match (before.item(section, id), after.item(section, id)) {
        (_, Some(obj)) => Some(added(section, id.to_owned(), after, &obj)),
        (Some(obj), None) => Some(FieldEdit::Removed {
            section: section.to_owned(),
            item: id.to_owned(),
            label: label(section, before, &obj),
        }),
        (None, None) => other(
            &[Prop::Map(section.into()), Prop::Map(id.into())],
            before,
            after,
        ),
    }
}

fn added(section: &'static str, id: String, at: &At<'_>, obj: &ObjId) -> FieldEdit {
    let text = |key| at.text(obj, key);
    match section {
        CONTACTS => FieldEdit::ContactAdded {
            contact: id,
            name: text("name"),
        },
        DEALS => FieldEdit::DealAdded {
            deal: id,
            title: text("title"),
            stage: text("stage"),
            amount: at.amount(obj),
        },
        TASKS => FieldEdit::TaskAdded {
            task: id,
            title: text("title"),
            assignee: text("assignee"),
            due: text("due"),
        },
        _ => FieldEdit::EntryAdded {
            entry: id,
            entry_kind: text("kind"),
            team: text("team"),
            excerpt: excerpt(&text("text").unwrap_or_default()),
        },
    }
}

fn item_field(
    section: &'static str,
    id: &str,
    key: &str,
    before: &At<'_>,
    after: &At<'_>,
) -> Option<FieldEdit> {
    let (Some(old), Some(new)) = (before.item(section, id), after.item(section, id)) else {
        let path = [section, id, key].map(|k| Prop::Map(k.to_owned()));
        return other(&path, before, after);
    };
    let label = label(section, after, &new);
    let id = id.to_owned();
    if section == TIMELINE {
        changed(before.values(&old, key), after.values(&new, key))?;
        return Some(FieldEdit::EntryEdited {
            entry: id,
            excerpt: label.unwrap_or_default(),
            field: key.to_owned(),
        });
    }
    if let (TASKS, "done", Some(done)) = (section, key, after.boolean(&new, key)) {
        return (before.boolean(&old, key) != Some(done)).then_some(FieldEdit::TaskDone {
            task: id,
            title: label,
            done,
        });
    }
    let value = |at: &At<'_>, obj: &ObjId| match (section, key) {
        (DEALS, "amount" | "currency") => at.amount(obj),
        _ => at.values(obj, key),
    };
    let (from, to) = changed(value(before, &old), value(after, &new))?;
    let field = key.to_owned();
    Some(match section {
        CONTACTS => FieldEdit::ContactChanged {
            contact: id,
            name: label,
            field,
            from,
            to,
        },
        DEALS => FieldEdit::DealChanged {
            deal: id,
            title: label,
            field,
            from,
            to,
        },
        _ => FieldEdit::TaskChanged {
            task: id,
            title: label,
            field,
            from,
            to,
        },
    })
}

/// How people know an item: a contact's name, a deal's or task's title, an entry's first words.
fn label(section: &str, at: &At<'_>, obj: &ObjId) -> Option<String> {
    match section {
        CONTACTS => at.text(obj, "name"),
        TIMELINE => at.text(obj, "text").map(|text| excerpt(&text)),
        _ => at.text(obj, "title"),
    }
}

/// A follower's root key set where it was absent, or gone where it was set.
fn followed(key: &str, before: &At<'_>, after: &At<'_>) -> Option<FieldEdit> {
    let present = |at: &At<'_>| at.get(&ROOT, key).is_some();
    let user = key.strip_prefix(FOLLOWER_PREFIX)?.to_owned();
    match (present(before), present(after)) {
        (false, true) => Some(FieldEdit::Followed {
            user,
            following: true,
        }),
        (true, false) => Some(FieldEdit::Followed {
            user,
            following: false,
        }),
        _ => None,
    }
}

fn acknowledged(key: &str, before: &At<'_>, after: &At<'_>) -> Option<FieldEdit> {
    let present = |at: &At<'_>| {
        at.map(&ROOT, ACKS)
            .is_some_and(|acks| at.get(&acks, key).is_some())
    };
    match (key.split_once(':'), present(before), present(after)) {
        (Some((user, entry)), false, true) => Some(FieldEdit::Acknowledged {
            user: user.to_owned(),
            entry: entry.to_owned(),
        }),
        _ => other(
            &[Prop::Map(ACKS.into()), Prop::Map(key.into())],
            before,
            after,
        ),
    }
}

fn other(path: &[Prop], before: &At<'_>, after: &At<'_>) -> Option<FieldEdit> {
    let (from, to) = changed(before.path(path), after.path(path))?;
    let path: Vec<String> = path
        .iter()
        .map(|prop| match prop {
            Prop::Map(key) => key.clone(),
            Prop::Seq(index) => format!("[{index}]"),
        })
        .collect();
    Some(FieldEdit::Other {
        path: path.join("."),
        from,
        to,
    })
}

/// The first words of a text, on one line: at most 12 words and 80 characters.
pub(super) fn excerpt(text: &str) -> String {
    const WORDS: usize = 12;
    const CHARS: usize = 80;
    let mut words = text.split_whitespace();
    let mut out = words.by_ref().take(WORDS).collect::<Vec<_>>().join(" ");
    let mut cut = words.next().is_some();
    if out.chars().count() > CHARS {
        out = out.chars().take(CHARS - 1).collect();
        cut = true;
    }
    if cut {
        out.push('…');
    }
    out
}
