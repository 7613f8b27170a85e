//! `orgguard init`: a first plan, the seed's defaults with their comments, and what the
//! organization says about itself filled in where the caller's credentials can read it.

use std::path::Path;

use crate::aws::Aws;
use crate::model::{AccountId, Region};

/// The seed's plan, every setting commented.
const EXAMPLE: &str = include_str!("../plans/example.toml");

/// What `init` read of the organization, to fill in the plan.
#[derive(Debug, Default)]
pub struct Found {
    /// The GuardDuty delegated administrator designated now, if any.
    pub admin: Option<AccountId>,
    /// Whether the plan's default member role could be assumed in a member account, and which.
    pub member_role_works: Option<(AccountId, bool)>,
}

/// Reads the organization's current delegated admin (in `home`) and tries the default member
/// role in its first other account. Every read is best effort: what fails is not guessed.
pub async fn look(aws: &Aws, home: &Region) -> Found {
    let admin = aws.management().guardduty(home).list_admins().await.ok().and_then(|admins| admins.first().copied());
    let member = {
        use futures::StreamExt;
        let pages = std::pin::pin!(aws.account_pages());
        let first_page = pages.into_future().await.0.and_then(Result::ok).unwrap_or_default();
        first_page.into_iter().map(|a| a.id).find(|id| *id != aws.caller.account)
    };
    let member_role_works = match member {
        Some(account) => Some((account, aws.session(&account, DEFAULT_ROLE, None).ready().await.is_ok())),
        None => None,
    };
    Found { admin, member_role_works }
}

const DEFAULT_ROLE: &str = "OrganizationAccountAccessRole";

/// The plan text, and a line for each thing guessed or left for the user to decide.
pub fn plan(found: &Found) -> (String, Vec<String>) {
    let mut notes = Vec::new();
    let text = match found.admin {
        Some(admin) => {
            notes.push(format!("[admin] account = {admin}: the delegated GuardDuty administrator designated now"));
            EXAMPLE.replace(r#"account = "100000000001""#, &format!(r#"account = "{admin}""#))
        }
        None => {
            notes.push("[admin] left out: no delegated administrator is designated; name your security tooling account there".into());
            EXAMPLE.replace("[admin]\n", "# [admin]\n").replace(r#"account = "100000000001""#, r#"# account = "111122223333""#)
                .replace("auto_enable = \"ALL\"              # NEW, ALL or NONE", "# auto_enable = \"ALL\"            # NEW, ALL or NONE")
        }
    };
    match found.member_role_works {
        Some((account, true)) => notes.push(format!("organization.member_role = {DEFAULT_ROLE}: assumed in {account}")),
        Some((account, false)) => {
            notes.push(format!("organization.member_role: {DEFAULT_ROLE} could not be assumed in {account}; name the role that can"))
        }
        None => notes.push(format!("organization.member_role = {DEFAULT_ROLE}: not tried (no member account listed)")),
    }
    (text, notes)
}

/// Writes the plan; an existing file is left alone.
pub fn write(path: &Path, text: &str) -> std::io::Result<()> {
    if path.exists() {
        return Err(std::io::Error::new(std::io::ErrorKind::AlreadyExists, format!("{} exists; it is left alone", path.display())));
    }
    crate::safe::write_file(path, |out| std::io::Write::write_all(out, text.as_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn without_an_admin_the_section_is_left_for_the_user_and_the_plan_stays_valid() {
        let (text, notes) = plan(&Found::default());
        let parsed = crate::plan::Plan::parse(&text, Path::new("init.toml")).expect("a valid plan");
        assert!(parsed.admin.is_none());
        assert!(notes[0].starts_with("[admin] left out"), "{notes:?}");
        let admin = AccountId::parse("123412341234").unwrap();
        let (text, _) = plan(&Found { admin: Some(admin), member_role_works: Some((admin, true)) });
        let parsed = crate::plan::Plan::parse(&text, Path::new("init.toml")).expect("a valid plan");
        assert_eq!(parsed.admin.unwrap().account.get_ref(), &admin);
    }
}
