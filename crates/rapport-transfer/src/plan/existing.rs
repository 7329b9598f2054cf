//! The workspace as an import sees it ([`Existing`]), and how a file's accounts are matched
//! against it ([`Lookup`]).

use std::collections::{BTreeMap, HashMap};

use rapport_model::account::AccountView;
use rapport_model::alert::rule::Rule;
use rapport_model::custom_field::FieldDefinition;
use rapport_model::segment::Segment;
use rapport_model::{DocumentId, InvalidInput, PipelineStage};

use super::ParsedFile;
use crate::record::AccountRecord;

/// The workspace as an import sees it: every account's name and domain, the views of those a
/// file names (for their contacts and deals), the deal pipeline and the custom fields it
/// defines.
#[derive(Clone, Debug, Default)]
pub struct Existing {
    pub(crate) accounts: Vec<Known>,
    pub(crate) pipeline: Vec<PipelineStage>,
    /// The custom fields the workspace defines: values for them are checked.
    pub(crate) fields: Vec<FieldDefinition>,
    /// Where items of the workspace live, by item id (for a JSON import).
    pub(crate) items: HashMap<String, DocumentId>,
    /// Its standing alert rules (for a JSON import).
    pub(crate) rules: Vec<Rule>,
    /// Its segments (for a JSON import).
    pub(crate) segments: Vec<Segment>,
}

/// An account of the workspace: its name, its domain (normalized), and its view if loaded.
#[derive(Clone, Debug)]
pub(crate) struct Known {
    pub(crate) id: DocumentId,
    pub(crate) name: String,
    pub(crate) domain: Option<String>,
    pub(crate) view: Option<AccountView>,
}

impl Existing {
    /// A workspace with this deal pipeline and no accounts yet.
    pub fn new(pipeline: Vec<PipelineStage>) -> Self {
        Self {
            accounts: Vec::new(),
            pipeline,
            fields: Vec::new(),
            items: HashMap::new(),
            rules: Vec::new(),
            segments: Vec::new(),
        }
    }

    /// Sets the workspace's standing alert rules: a JSON import creates those it lacks.
    pub fn set_rules(&mut self, rules: Vec<Rule>) {
        self.rules = rules;
    }

    /// Sets the workspace's segments: a JSON import creates those it lacks.
    pub fn set_segments(&mut self, segments: Vec<Segment>) {
        self.segments = segments;
    }

    /// Sets the custom fields the workspace defines: a value a file gives one of them must
    /// fit its definition, or its row (its account, in a JSON file) is rejected.
    pub fn set_field_definitions(&mut self, definitions: Vec<FieldDefinition>) {
        self.fields = definitions;
    }

    /// Custom values checked against the definitions: each as it is stored (a choice as the
    /// option spells it), and the first that does not fit, if any.
    pub(crate) fn check_custom(
        &self,
        custom: &BTreeMap<String, String>,
    ) -> (BTreeMap<String, String>, Option<InvalidInput>) {
        check_custom(&self.fields, custom)
    }

    /// Adds an account by its name and domain.
    pub fn add_account(&mut self, id: DocumentId, name: &str, domain: Option<&str>) {
        self.accounts.push(Known {
            id,
            name: name.to_owned(),
            domain: domain.and_then(crate::record::domain_of),
            view: None,
        });
    }

    /// Records that the workspace's account `account` holds the item (contact, deal, task or
    /// timeline entry) `item`: a JSON import's account whose items live there is that account.
    pub fn add_item(&mut self, item: String, account: DocumentId) {
        self.items.insert(item, account);
    }

    /// Adds the view of an account added before, so that its contacts and deals can be merged.
    pub fn add_view(&mut self, view: AccountView) {
        if let Some(known) = self.accounts.iter_mut().find(|k| k.id == view.id) {
            known.view = Some(view);
        }
    }

    /// The existing accounts the rows of `file` could match: the ones whose views
    /// [`plan`] needs.
    pub fn referenced(&self, file: &ParsedFile) -> Vec<DocumentId> {
        let lookup = Lookup::new(self);
        let mut ids: Vec<DocumentId> = file
            .rows
            .iter()
            .filter_map(|row| row.record.as_ref().ok())
            .flat_map(|record| lookup.candidates(&record.account))
            .map(|index| self.accounts[index].id)
            .collect();
        ids.sort();
        ids.dedup();
        ids
    }
}

/// Custom values checked against `definitions`: each as it is stored (a choice as the option
/// spells it), and the first that does not fit, if any.
pub(crate) fn check_custom(
    definitions: &[FieldDefinition],
    custom: &BTreeMap<String, String>,
) -> (BTreeMap<String, String>, Option<InvalidInput>) {
    let mut refused = None;
    let checked = custom
        .iter()
        .map(|(name, value)| {
            let defined = definitions.iter().find(|d| d.name.as_str() == name);
            let value = match defined.map(|d| d.check(value)) {
                Some(Ok(checked)) => checked,
                Some(Err(error)) => {
                    refused.get_or_insert(error);
                    value.clone()
                }
                None => value.clone(),
            };
            (name.clone(), value)
        })
        .collect();
    (checked, refused)
}

/// Existing accounts by domain and by lowercased name.
pub(super) struct Lookup {
    pub(super) by_domain: HashMap<String, Vec<usize>>,
    pub(super) by_name: HashMap<String, Vec<usize>>,
}

impl Lookup {
    pub(super) fn new(existing: &Existing) -> Self {
        let mut lookup = Lookup {
            by_domain: HashMap::new(),
            by_name: HashMap::new(),
        };
        for (index, known) in existing.accounts.iter().enumerate() {
            if let Some(domain) = &known.domain {
                lookup
                    .by_domain
                    .entry(domain.clone())
                    .or_default()
                    .push(index);
            }
            let name = known.name.to_lowercase();
            lookup.by_name.entry(name).or_default().push(index);
        }
        lookup
    }

    pub(super) fn candidates(&self, account: &AccountRecord) -> Vec<usize> {
        let by_domain = account.domain.as_ref().and_then(|d| self.by_domain.get(d));
        let by_name = account
            .name
            .as_ref()
            .and_then(|n| self.by_name.get(&n.to_lowercase()));
        by_domain
            .into_iter()
            .chain(by_name)
            .flatten()
            .copied()
            .collect()
    }
}
