//! The handshake: the connecting peer sends `join`, the accepting peer answers `peer`.

use crate::message::{Join, PROTOCOL_V1, Peer, PeerId, PeerMetadata};

/// Why a handshake fails; the failing side sends an `error` message with this text and closes.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum HandshakeError {
    /// The peer speaks no protocol version this side does.
    #[error("unsupported protocol version(s) {offered}: this peer speaks version {PROTOCOL_V1}")]
    UnsupportedVersion {
        /// What the peer offered, comma separated.
        offered: String,
    },
    /// The `peer` answer is addressed to someone else.
    #[error("peer message is addressed to {target}, not to this peer")]
    WrongTarget {
        /// Who it was addressed to.
        target: PeerId,
    },
}

/// The accepting side: the `peer` message answering `join`, if the versions agree.
pub fn answer_join(
    join: &Join,
    me: PeerId,
    metadata: PeerMetadata,
) -> Result<Peer, HandshakeError> {
    if !join
        .supported_protocol_versions
        .iter()
        .any(|v| v == PROTOCOL_V1)
    {
        return Err(HandshakeError::UnsupportedVersion {
            offered: join.supported_protocol_versions.join(", "),
        });
    }
    Ok(Peer {
        sender_id: me,
        target_id: join.sender_id.clone(),
        selected_protocol_version: PROTOCOL_V1.into(),
        peer_metadata: metadata,
    })
}

/// The connecting side: checks the `peer` answer.
pub fn check_peer(peer: &Peer, me: &PeerId) -> Result<(), HandshakeError> {
    if peer.selected_protocol_version != PROTOCOL_V1 {
        return Err(HandshakeError::UnsupportedVersion {
            offered: peer.selected_protocol_version.clone(),
        });
    }
    if peer.target_id != *me {
        return Err(HandshakeError::WrongTarget {
            target: peer.target_id.clone(),
        });
    }
    Ok(())
}
