//! The workspace's custom fields in a real browser: defined on the settings page, shown live on
//! an account's form with an input of their type, a choice picked and saved, then removed.

use serde_json::{Value, json};

use super::{Browser, LocalNode, Page, TwoTeams, account_page};

/// The region select on the account form.
const REGION: &str = ".details-form select[data-field='custom.region']";

/// The option values of the region select, and the one picked.
fn region_options(page: &Page<'_>) -> Value {
    page.script(
        "const select = document.querySelector(arguments[0]);
         return select && { options: [...select.options].map((o) => o.value), value: select.value };",
        vec![json!(REGION)],
    )
}

/// The value of the control `css` selects, if there is one.
fn value_of(page: &Page<'_>, css: &str) -> Value {
    page.script(
        "return document.querySelector(arguments[0])?.value ?? null;",
        vec![json!(css)],
    )
}

/// Defines a field through the settings form; `options` only for a choice.
fn define(settings: &Page<'_>, name: &str, label: &str, kind: &str, options: &str) {
    settings.type_into("#field-name", name);
    settings.type_into("#field-label", label);
    settings.click(&format!("#field-type option[value='{kind}']"));
    if !options.is_empty() {
        settings.type_into("#field-options", options);
    }
    settings.click("#field-add");
    let row = format!("#field-definitions .field-definition[data-field='{name}']");
    settings.wait_for(&format!("{name} in the list of fields"), |page| {
        page.count(&row) == 1
    });
}

#[test]
fn a_choice_field_defined_in_settings_shows_live_as_a_select_and_saves_the_pick() {
    let team = TwoTeams::start();
    // A value set before any definition, which the date field defined below does not accept.
    let founded = ["account", "set", &team.account, "custom.founded=long ago"];
    team.sales.run(founded).ok();
    let node = LocalNode::start(&team.sales);
    let browser = Browser::start("custom-fields");
    let account = browser.open("account", &account_page(&node, &team.account));
    account.wait_for_status("online");
    account.wait_for("Globex's page", |page| {
        page.text("#account-name").as_deref() == Some("Globex")
    });
    let undefined = ".details-form input[type=text][data-field='custom.founded']";
    assert_eq!(value_of(&account, undefined), json!("long ago"));

    let settings = browser.open("settings", &format!("{}#/settings", node.url));
    settings.wait_for("the settings page with no fields", |page| {
        page.visible("#field-definitions + p") && page.count("#field-definitions li") == 0
    });
    assert!(
        !settings.visible("#field-options"),
        "options are for a choice"
    );
    define(
        &settings,
        "region",
        "Region",
        "choice",
        "EMEA, Americas, APAC",
    );
    define(&settings, "employees", "Employees", "number", "");
    define(&settings, "founded", "Founded", "date", "");
    let region_row = "#field-definitions .field-definition[data-field='region'] .definition-text";
    assert_eq!(
        settings.text(region_row).as_deref(),
        Some("Region custom.regionChoice: EMEA, Americas, APAC")
    );
    settings.screenshot("three-fields");

    // The account page, open all along, shows the fields without being reloaded: a select, a
    // number input, and the value that does not fit its date field as it is, flagged.
    let employees = ".details-form input[type=number][data-field='custom.employees']";
    let flagged = ".details-form input.is-invalid[type=text][data-field='custom.founded']";
    account.wait_for("the three fields on the form", |page| {
        let options = json!({ "options": ["", "EMEA", "Americas", "APAC"], "value": "" });
        region_options(page) == options
            && page.count(employees) == 1
            && value_of(page, flagged) == json!("long ago")
    });
    let labels = account.script(
        "return [...document.querySelectorAll('.details-form .custom-fields label')]
             .map((label) => label.textContent);",
        vec![],
    );
    assert_eq!(
        labels,
        json!(["Region", "Employees", "Founded"]),
        "in definition order"
    );
    account.script(
        "document.querySelector(arguments[0]).scrollIntoView({ block: 'center' }); return null;",
        vec![json!(flagged)],
    );
    account.screenshot("fields-before-a-value");

    account.click(&format!("{REGION} option[value='APAC']"));
    account.click(".details-form button[type=submit]");
    account.wait_for("the pick saved", |page| {
        let saved = page.script(
            "return document.querySelector(arguments[0]).dataset.saved;",
            vec![json!(REGION)],
        );
        page.text("#notices")
            .is_some_and(|text| text.contains("Saved"))
            && saved == "APAC"
    });
    account.screenshot("region-saved");
    account.wait_for("the change on the relay", |page| page.unsynced() == 0);
    team.support.sync().ok();
    let shown = team.support.show(&team.account);
    assert_eq!(
        shown["custom"],
        json!({ "region": "APAC", "founded": "long ago" })
    );
    assert_eq!(shown["custom_fields"][0]["label"], "Region");
    assert_eq!(shown["custom_fields"][2]["valid"], false);

    // Removed, the field leaves the workspace and the value stays, as a plain text field.
    settings.click(".remove-field[data-field='region']");
    settings.wait_for("region gone from the settings", |page| {
        page.count("#field-definitions .field-definition[data-field='region']") == 0
    });
    let kept = ".details-form input[type=text][data-field='custom.region']";
    account.wait_for("the value kept in a text input", |page| {
        page.count(REGION) == 0 && value_of(page, kept) == json!("APAC")
    });
    account.screenshot("region-removed");
    assert!(
        account.never_reloaded(),
        "the account page was not reloaded"
    );
    assert!(
        settings.never_reloaded(),
        "the settings page was not reloaded"
    );
}
