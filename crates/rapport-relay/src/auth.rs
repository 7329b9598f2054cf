//! Member tokens: `rpt_<id>_<secret>`. The id is the public half the relay looks the token up
//! by; only a SHA-256 of the secret half is stored, and it is compared in constant time.

use std::fmt;

use rapport_model::{DocumentId, Role, Team, UserName};
use rapport_store::TokenRecord;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

const PREFIX: &str = "rpt";

/// Who a connection acts as, from its token.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Member {
    /// The token's public id (to cut the connection when the token is revoked).
    pub token_id: String,
    /// The workspace document's id.
    pub workspace: DocumentId,
    /// User name.
    pub user: UserName,
    /// Team.
    pub team: Team,
    /// Role.
    pub role: Role,
}

impl Member {
    /// Whether the member may change documents.
    pub fn may_write(&self) -> bool {
        self.role != Role::Viewer
    }
}

/// A token as handed to a member once; the relay keeps only [`Token::record`].
pub struct Token {
    id: String,
    secret: String,
}

impl fmt::Debug for Token {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Token({PREFIX}_{}_…)", self.id)
    }
}

impl Token {
    /// A new random token.
    pub fn generate() -> Self {
        let id: [u8; 8] = rand::random();
        let secret: [u8; 24] = rand::random();
        Self {
            id: bs58::encode(id).into_string(),
            secret: bs58::encode(secret).into_string(),
        }
    }

    /// Splits presented text into id and secret; `None` when it is not shaped like a token.
    pub fn parse(text: &str) -> Option<Self> {
        let mut parts = text.trim().split('_');
        let (prefix, id, secret) = (parts.next()?, parts.next()?, parts.next()?);
        if prefix != PREFIX || parts.next().is_some() || id.is_empty() || secret.is_empty() {
            return None;
        }
        Some(Self {
            id: id.to_owned(),
            secret: secret.to_owned(),
        })
    }

    /// The public id.
    pub fn id(&self) -> &str {
        &self.id
    }

    /// The text to give the member.
    pub fn reveal(&self) -> String {
        format!("{PREFIX}_{}_{}", self.id, self.secret)
    }

    /// What the relay stores for this token.
    pub fn record(
        &self,
        workspace: DocumentId,
        user: &UserName,
        team: Team,
        role: Role,
    ) -> TokenRecord {
        TokenRecord {
            workspace,
            user: user.to_string(),
            team: team.to_string(),
            role: role.to_string(),
            secret_sha256: bs58::encode(secret_hash(&self.secret)).into_string(),
        }
    }

    /// The member this token names, if `record` is its record and the secret matches.
    pub fn verify(&self, record: &TokenRecord) -> Option<Member> {
        let stored = bs58::decode(&record.secret_sha256).into_vec().ok()?;
        let presented = secret_hash(&self.secret);
        if !bool::from(stored.as_slice().ct_eq(presented.as_slice())) {
            return None;
        }
        Some(Member {
            token_id: self.id.clone(),
            workspace: record.workspace,
            user: record.user.parse().ok()?,
            team: record.team.parse().ok()?,
            role: record.role.parse().ok()?,
        })
    }
}

fn secret_hash(secret: &str) -> [u8; 32] {
    Sha256::digest(secret.as_bytes()).into()
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn a_token_verifies_against_its_record_only() {
        let token = Token::generate();
        let workspace = DocumentId::random();
        let user: UserName = "sam".parse().unwrap();
        let record = token.record(workspace, &user, Team::Sales, Role::Member);
        assert!(!record.secret_sha256.contains(&token.secret));
        let presented = Token::parse(&token.reveal()).unwrap();
        let member = presented.verify(&record).unwrap();
        assert_eq!((member.user, member.role), (user, Role::Member));
        let forged = Token::parse(&format!("rpt_{}_wrongsecret", token.id)).unwrap();
        assert_eq!(forged.verify(&record), None);
    }

    #[test]
    fn text_not_shaped_like_a_token_is_refused() {
        for text in [
            "",
            "rpt",
            "rpt__x",
            "abc_d_e",
            "rpt_a_b_c",
            "Bearer rpt_a_b",
        ] {
            assert!(Token::parse(text).is_none(), "{text}");
        }
    }
}
