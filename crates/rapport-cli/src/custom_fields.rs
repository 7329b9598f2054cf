//! `rapport workspace field`: the custom fields the workspace defines for its accounts.

use rapport_model::custom_field::FieldDefinition;
use rapport_store::Replica;
use serde_json::json;

use crate::cli::FieldCommand;
use crate::output::{Output, definition_text};

pub fn field(replica: &mut Replica, command: FieldCommand, out: &Output) -> anyhow::Result<()> {
    match command {
        FieldCommand::Add(args) => {
            let options: Vec<String> = args
                .options
                .as_deref()
                .map(|list| list.split(',').map(str::to_owned).collect())
                .unwrap_or_default();
            let definition =
                FieldDefinition::new(args.name, args.kind, args.label.as_deref(), &options)?;
            let edit = replica.edit_now();
            replica.define_field(&edit, &definition)?;
            out.done(
                &format!("defined field {}", definition_text(&definition)),
                json!({ "added": definition }),
            )
        }
        FieldCommand::List => out.field_definitions(&replica.field_definitions()?),
        FieldCommand::Remove { name } => {
            let edit = replica.edit_now();
            replica.remove_field(&edit, &name)?;
            out.done(
                &format!("removed field {name} (accounts keep their values)"),
                json!({ "removed": name }),
            )
        }
    }
}
