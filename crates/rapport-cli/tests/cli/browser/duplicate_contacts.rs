//! Keeping one of two duplicate contacts from the Duplicates page.

use super::{Browser, LocalNode, account_page};
use crate::support::{Data, tmp};

#[test]
fn keeping_one_of_two_duplicate_contacts_shows_the_other_under_it_on_the_account_page() {
    let tmp = tmp();
    let data = Data::init(tmp.path().join("sam"), "sam", "sales");
    let globex = data.add_account("Globex", &[]);
    let initech = data.add_account("Initech", &[]);
    let contact = |account: &str, name: &str, extra: &[&str]| {
        let args = [&["contact", "add", account, "--name", name][..], extra].concat();
        data.id_of(args)
    };
    let keep = contact(&globex, "Hank Scorpio", &["--email", "hank@globex.com"]);
    let other = contact(
        &globex,
        "H. Scorpio",
        &["--email", "HANK@globex.com", "--phone", "+1-555-0100"],
    );
    contact(&initech, "Hank S.", &["--email", "hank@globex.com"]);
    let node = LocalNode::start(&data);
    let browser = Browser::start("duplicate-contacts");
    let page = browser.open("sales", &format!("{}#/duplicates", node.url));
    let pairs = "#duplicate-contacts .duplicate-pair";
    page.wait_for("three pairs of contacts listed", |page| {
        page.count(pairs) == 3
    });
    let ours = format!(
        "{pairs}[data-a=\"{keep}\"][data-b=\"{other}\"], {pairs}[data-a=\"{other}\"][data-b=\"{keep}\"]"
    );
    assert_eq!(page.count(&ours), 1);
    assert_eq!(
        page.count(&format!("{pairs} .merge-button")),
        2,
        "only the pair within one account can be merged here"
    );
    let across = page.text("#duplicate-contacts").unwrap_or_default();
    assert!(across.contains("merge the accounts first"), "{across}");
    page.screenshot("contact-pairs");

    page.click(&format!(
        "#duplicate-contacts .merge-button[data-keep=\"{keep}\"][data-other=\"{other}\"]"
    ));
    page.wait_for("the merged pair gone", |page| {
        page.count(&ours) == 0 && page.count(pairs) == 1
    });
    page.screenshot("contacts-merged");
    let notices = page.text("#notices").unwrap_or_default();
    assert!(
        notices.contains("Merged contact H. Scorpio into Hank Scorpio (phone filled)"),
        "{notices}"
    );

    let account = browser.open("account", &account_page(&node, &globex));
    let kept = format!(".item.contact[data-contact-id=\"{keep}\"]");
    account.wait_for(
        "the kept contact alone, with the merged one under it",
        |page| {
            page.count(".item.contact") == 1
                && page.text(&kept).is_some_and(|text| {
                    text.contains("+1-555-0100") && text.contains("Merged: H. Scorpio")
                })
        },
    );
    account.script(
        "document.querySelector(arguments[0]).scrollIntoView(); return null;",
        vec![kept.clone().into()],
    );
    account.screenshot("kept-contact");
}
