//! The workspace's custom field definitions (`rapport_model::custom_field`), and account field
//! changes checked against them. Definitions live in the workspace document only: nothing
//! derived depends on them, so defining or removing one changes no index.

use rapport_model::custom_field::{self, FieldDefinition, FieldName};
use rapport_model::{AccountAssignment, DocumentId, Edit, account};

use crate::error::StoreError;
use crate::replica::Replica;

impl Replica {
    /// The workspace's custom field definitions, in the order they were made.
    pub fn field_definitions(&mut self) -> Result<Vec<FieldDefinition>, StoreError> {
        let id = self.workspace_id();
        Ok(custom_field::definitions(self.document(id)?))
    }

    /// Defines a custom field, durably; refuses a name defined already, changing nothing.
    pub fn define_field(
        &mut self,
        edit: &Edit,
        definition: &FieldDefinition,
    ) -> Result<(), StoreError> {
        self.check_writable()?;
        if self
            .field_definitions()?
            .iter()
            .any(|known| known.name == definition.name)
        {
            return Err(StoreError::DuplicateField {
                name: definition.name.to_string(),
            });
        }
        self.change_workspace(edit, |tx| {
            custom_field::put_definition(tx, edit, definition)
        })
    }

    /// Removes the definition of `name`, durably. The values accounts hold stay, shown as
    /// fields nobody defined.
    pub fn remove_field(&mut self, edit: &Edit, name: &FieldName) -> Result<(), StoreError> {
        self.check_writable()?;
        if !self.field_definitions()?.iter().any(|d| &d.name == name) {
            return Err(StoreError::UnknownField {
                name: name.to_string(),
            });
        }
        self.change_workspace(edit, |tx| custom_field::remove_definition(tx, name))
    }

    /// Sets fields of account `id`, durably, after checking each custom field that has a
    /// definition: a value that does not fit refuses the whole change.
    pub fn set_account_fields(
        &mut self,
        id: DocumentId,
        edit: &Edit,
        assignments: &[AccountAssignment],
    ) -> Result<(), StoreError> {
        let checked = custom_field::check_assignments(&self.field_definitions()?, assignments)?;
        self.change_account(id, edit, |tx| account::set(tx, &checked))
    }
}
