//! The account list's value score column and segment picker in a real browser, over the
//! crafted workspace of `crate::segments`.

use serde_json::json;

use super::{Browser, LocalNode, Page, account_page, row_of};
use crate::segments::crafted;
use crate::support::{Data, tmp};

/// The value of the score badge in each row, in the list's order.
fn scores(page: &Page<'_>) -> Vec<String> {
    let found = page.script(
        "return [...document.querySelectorAll('tr[data-account-id] .badge.score')]
             .map((badge) => badge.dataset.score);",
        vec![],
    );
    super::strings(&found)
}

#[test]
fn the_account_list_sorts_by_score_picks_a_saved_segment_and_saves_the_filters_as_one() {
    let tmp = tmp();
    let data = Data::init(tmp.path().join("sam"), "sam", "sales");
    let [globex, initech, umbrella] = crafted(&data);
    let aardvark = data.add_account("Aardvark", &["--stage", "lead"]);
    data.run(["segment", "add", "Customers", "--stage", "customer"])
        .ok();
    let node = LocalNode::start(&data);
    let browser = Browser::start("segments");
    let page = browser.open("sales", &node.url);
    page.wait_for("four accounts listed by name", |page| {
        page.rows()
            == [
                aardvark.as_str(),
                globex.as_str(),
                initech.as_str(),
                umbrella.as_str(),
            ]
    });
    assert_eq!(scores(&page), ["0", "81", "57", "0"]);
    assert_eq!(
        page.text(&format!("{} .badge.score", row_of(&globex)))
            .as_deref(),
        Some("81 high")
    );

    page.click("#sort-score");
    page.wait_for("the highest score first", |page| {
        page.rows()
            == [
                globex.as_str(),
                initech.as_str(),
                aardvark.as_str(),
                umbrella.as_str(),
            ]
    });
    page.screenshot("sorted-by-score");

    page.click("#segment option[value='Customers']");
    page.wait_for("the Customers segment alone", |page| {
        page.rows() == [globex.as_str(), umbrella.as_str()]
    });
    page.screenshot("segment-customers");

    page.click("#segment option[value='']");
    page.click("#filter-stage option[value='prospect']");
    page.wait_for("the prospects", |page| page.rows() == [initech.as_str()]);
    page.type_into("#segment-name", "Prospects");
    page.click("#save-segment");
    page.wait_for("the new segment picked", |page| {
        page.script("return document.querySelector('#segment').value;", vec![])
            == json!("Prospects")
    });
    // The stage filter moved into the segment: the list is the segment's alone.
    assert_eq!(
        page.script(
            "return document.querySelector('#filter-stage').value;",
            vec![]
        ),
        json!("")
    );
    assert_eq!(page.rows(), [initech.as_str()]);
    page.screenshot("segment-saved");

    // Saving nothing is refused with the node's reason, and changes nothing.
    page.click("#segment option[value='']");
    page.type_into("#segment-name", "Everything");
    page.click("#save-segment");
    page.wait_for("the refusal shown", |page| {
        page.text("#notices .notice-error")
            .is_some_and(|notice| notice.contains("at least one condition"))
    });
    assert_eq!(
        page.count("#segment option"),
        3,
        "All accounts and two segments"
    );

    let account = browser.open("account", &account_page(&node, &globex));
    account.wait_for("Globex's score on its page", |page| {
        page.text("#account-score .badge.score").as_deref() == Some("81 high")
    });
}

#[test]
fn a_segment_is_deleted_from_the_account_list_only_once_the_question_is_confirmed() {
    let tmp = tmp();
    let data = Data::init(tmp.path().join("sam"), "sam", "sales");
    let globex = data.add_account("Globex", &["--stage", "customer"]);
    let initech = data.add_account("Initech", &["--stage", "prospect"]);
    for (name, stage) in [("Customers", "customer"), ("Prospects", "prospect")] {
        data.run(["segment", "add", name, "--stage", stage]).ok();
    }
    let node = LocalNode::start(&data);
    let browser = Browser::start("segment-delete");
    let page = browser.open("sales", &node.url);
    page.wait_for("both accounts listed", |page| page.rows().len() == 2);
    assert!(
        !page.visible("#delete-segment"),
        "nothing to delete while no segment is picked"
    );

    page.click("#segment option[value='Customers']");
    page.wait_for("the Customers segment alone", |page| {
        page.rows() == [globex.as_str()]
    });
    page.click("#delete-segment");
    page.wait_for("the question", |page| page.visible("#segment-confirm"));
    let question = page.text("#segment-confirm-text").unwrap_or_default();
    assert!(
        question.contains("“Customers”") && question.contains("everyone"),
        "{question}"
    );
    page.screenshot("question");
    page.click("#cancel-delete-segment");
    page.wait_for("the question withdrawn", |page| {
        !page.visible("#segment-confirm")
    });
    assert_eq!(page.count("#segment option"), 3, "nothing was deleted");
    assert_eq!(page.rows(), [globex.as_str()]);

    page.click("#delete-segment");
    page.wait_for("the question again", |page| {
        page.visible("#confirm-delete-segment")
    });
    page.click("#confirm-delete-segment");
    page.wait_for("the segment gone and every account listed", |page| {
        page.count("#segment option") == 2 && page.rows().len() == 2
    });
    assert_eq!(
        page.script("return document.querySelector('#segment').value;", vec![]),
        json!("")
    );
    assert!(!page.visible("#delete-segment"));
    assert!(
        page.text("#notices")
            .is_some_and(|notice| notice.contains("Deleted the segment “Customers”")),
        "{:?}",
        page.text("#notices")
    );
    page.screenshot("deleted");
    page.click("#segment option[value='Prospects']");
    page.wait_for("the other segment still works", |page| {
        page.rows() == [initech.as_str()]
    });
    drop(page);
    drop(node);

    let left = data.json(["segment", "list"]);
    assert_eq!(left.as_array().map(Vec::len), Some(1), "{left:#}");
    assert_eq!(left[0]["name"], "Prospects");
}
