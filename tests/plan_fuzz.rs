//! The plan parser never panics, whatever the file holds: arbitrary text, and the example
//! plan with random edits (the inputs most likely to get deep into validation).

use std::path::Path;

use orgguard::plan::Plan;
use proptest::prelude::*;

const EXAMPLE: &str = include_str!("../plans/example.toml");

proptest! {
    // PROPTEST_CASES=100000 for a long run (the README gives the last one's figures).
    #![proptest_config(ProptestConfig {
        cases: std::env::var("PROPTEST_CASES").ok().and_then(|n| n.parse().ok()).unwrap_or(3000),
        ..ProptestConfig::default()
    })]

    #[test]
    fn arbitrary_text_is_refused_or_accepted_without_panic(text in "\\PC*") {
        let _ = Plan::parse(&text, Path::new("fuzz.toml"));
    }

    #[test]
    fn edited_example_plans_do_not_panic(
        edits in proptest::collection::vec((0..EXAMPLE.len(), 0usize..8, "[\\[\\]=\"'{},.\\n a-zA-Z0-9_-]{0,6}"), 1..6)
    ) {
        let mut text = EXAMPLE.to_owned();
        for (at, remove, insert) in edits {
            let mut at = at.min(text.len());
            while !text.is_char_boundary(at) { at -= 1; }
            let mut end = (at + remove).min(text.len());
            while !text.is_char_boundary(end) { end += 1; }
            text.replace_range(at..end, &insert);
        }
        if let Err(error) = Plan::parse(&text, Path::new("fuzz.toml")) {
            // Every refusal is located in the file.
            prop_assert!(error.to_string().starts_with("fuzz.toml:"), "{error}");
        }
    }
}
