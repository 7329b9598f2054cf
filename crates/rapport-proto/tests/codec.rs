//! The codec against hand-built frames, every truncation, hostile shapes and random bytes.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use minicbor::Encoder;
use proptest::prelude::*;
use rapport_model::DocumentId;
use rapport_proto::*;

fn peer(id: &str) -> PeerId {
    PeerId::new(id).unwrap()
}

fn doc_id() -> WireDocumentId {
    DocumentId::from_bytes([9; 16]).into()
}

fn every_message() -> Vec<Message> {
    let doc = DocMessage {
        sender_id: peer("a"),
        target_id: peer("b"),
        document_id: doc_id(),
        data: vec![0x42, 0, 255],
    };
    vec![
        Message::Join(Join {
            sender_id: peer("laptop"),
            supported_protocol_versions: vec![PROTOCOL_V1.into()],
            peer_metadata: PeerMetadata {
                storage_id: Some("disk-1".into()),
                is_ephemeral: false,
                extensions: vec!["summary-1".into()],
                summary_digest: Some(vec![7; 32]),
                identity: None,
            },
        }),
        Message::Peer(Peer {
            sender_id: peer("relay"),
            target_id: peer("laptop"),
            selected_protocol_version: PROTOCOL_V1.into(),
            peer_metadata: PeerMetadata {
                storage_id: None,
                is_ephemeral: true,
                extensions: vec![],
                summary_digest: None,
                identity: Some(MemberIdentity {
                    workspace: doc_id(),
                    user: "ada".into(),
                    team: "sales".into(),
                    role: "member".into(),
                }),
            },
        }),
        Message::Leave {
            sender_id: peer("laptop"),
        },
        Message::Request(doc.clone()),
        Message::Sync(DocMessage {
            data: vec![],
            ..doc.clone()
        }),
        Message::DocUnavailable(DocNotice {
            sender_id: peer("relay"),
            target_id: peer("laptop"),
            document_id: WireDocumentId::new("not-an-id").unwrap(),
        }),
        Message::Ephemeral(Ephemeral {
            sender_id: peer("a"),
            target_id: peer("b"),
            count: 7,
            session_id: "s1".into(),
            document_id: doc_id(),
            data: b"cursor".to_vec(),
        }),
        Message::Summary(Summary {
            sender_id: peer("a"),
            target_id: peer("b"),
            documents: vec![(doc_id(), vec![[1; 32], [2; 32]]), (doc_id(), vec![])],
        }),
        Message::Document(WholeDocument {
            sender_id: peer("a"),
            target_id: peer("b"),
            document_id: doc_id(),
            heads: vec![[4; 32]],
            data: vec![0x85, 0x6f, 0x4a, 0x83],
        }),
        Message::Have(DocHeads {
            sender_id: peer("b"),
            target_id: peer("a"),
            document_id: doc_id(),
            heads: vec![[3; 32]],
        }),
        Message::Error {
            message: "unsupported protocol version".into(),
        },
        Message::Other {
            message_type: "remote-heads-changed".into(),
        },
    ]
}

#[test]
fn every_message_round_trips() {
    for message in every_message() {
        assert_eq!(
            decode(&encode(&message)).unwrap(),
            message,
            "{}",
            message.message_type()
        );
    }
}

#[test]
fn every_truncation_of_every_message_is_an_error() {
    for message in every_message() {
        let frame = encode(&message);
        for len in 0..frame.len() {
            assert!(
                decode(&frame[..len]).is_err(),
                "{} cut at {len} decoded",
                message.message_type()
            );
        }
    }
}

/// A `sync` the way another implementation might write it: other key order, unknown keys with
/// nested values, the README's `metadata` spelling, an indefinite-length map, tagged bytes.
#[test]
fn foreign_encodings_of_a_sync_message_decode() {
    let mut e = Encoder::new(Vec::new());
    e.begin_map().unwrap();
    e.str("data")
        .unwrap()
        .tag(minicbor::data::Tag::new(64))
        .unwrap()
        .bytes(&[1, 2, 3])
        .unwrap();
    e.str("futureField")
        .unwrap()
        .map(1)
        .unwrap()
        .str("x")
        .unwrap()
        .array(2)
        .unwrap()
        .u8(1)
        .unwrap()
        .str("y")
        .unwrap();
    e.str("documentId").unwrap().str(doc_id().as_str()).unwrap();
    e.str("targetId").unwrap().str("relay").unwrap();
    e.str("type").unwrap().str("sync").unwrap();
    e.str("senderId").unwrap().str("browser-tab").unwrap();
    e.end().unwrap();
    let decoded = decode(&e.into_writer()).unwrap();
    let Message::Sync(sync) = decoded else {
        panic!("not a sync: {decoded:?}")
    };
    assert_eq!(sync.data, [1, 2, 3]);
    assert_eq!(sync.sender_id.as_str(), "browser-tab");
    assert_eq!(
        sync.document_id.parse(),
        Some(DocumentId::from_bytes([9; 16]))
    );

    let mut e = Encoder::new(Vec::new());
    e.map(4)
        .unwrap()
        .str("type")
        .unwrap()
        .str("join")
        .unwrap()
        .str("senderId")
        .unwrap()
        .str("x")
        .unwrap();
    e.str("supportedProtocolVersions")
        .unwrap()
        .str("1")
        .unwrap();
    e.str("metadata")
        .unwrap()
        .map(2)
        .unwrap()
        .str("storageId")
        .unwrap()
        .str("s")
        .unwrap()
        .str("isEphemeral")
        .unwrap()
        .bool(true)
        .unwrap();
    let Message::Join(join) = decode(&e.into_writer()).unwrap() else {
        panic!("not a join")
    };
    assert_eq!(join.supported_protocol_versions, ["1"]);
    assert_eq!(join.peer_metadata.storage_id.as_deref(), Some("s"));
    assert!(join.peer_metadata.is_ephemeral);
}

fn frame(build: impl FnOnce(&mut Encoder<Vec<u8>>)) -> Vec<u8> {
    let mut e = Encoder::new(Vec::new());
    build(&mut e);
    e.into_writer()
}

#[test]
fn malformed_messages_name_their_problem() {
    let cases: Vec<(&str, Vec<u8>, DecodeError)> = vec![
        ("empty frame", vec![], DecodeError::Truncated),
        (
            "an array",
            frame(|e| {
                e.array(0).unwrap();
            }),
            DecodeError::NotAMap {
                what: "message",
                found: "array".into(),
            },
        ),
        (
            "no type",
            frame(|e| {
                e.map(1).unwrap().str("senderId").unwrap().str("a").unwrap();
            }),
            DecodeError::MissingField { field: "type" },
        ),
        (
            "sync without data",
            frame(|e| {
                e.map(4).unwrap().str("type").unwrap().str("sync").unwrap();
                e.str("senderId")
                    .unwrap()
                    .str("a")
                    .unwrap()
                    .str("targetId")
                    .unwrap()
                    .str("b")
                    .unwrap();
                e.str("documentId").unwrap().str("d").unwrap();
            }),
            DecodeError::MissingField { field: "data" },
        ),
        (
            "duplicate type",
            frame(|e| {
                e.map(2)
                    .unwrap()
                    .str("type")
                    .unwrap()
                    .str("sync")
                    .unwrap()
                    .str("type")
                    .unwrap()
                    .str("join")
                    .unwrap();
            }),
            DecodeError::DuplicateField {
                field: "type".into(),
            },
        ),
        (
            "empty sender",
            frame(|e| {
                e.map(2)
                    .unwrap()
                    .str("type")
                    .unwrap()
                    .str("leave")
                    .unwrap()
                    .str("senderId")
                    .unwrap()
                    .str("")
                    .unwrap();
            }),
            DecodeError::InvalidField {
                field: "senderId",
                reason: "empty".into(),
            },
        ),
    ];
    for (what, bytes, expected) in cases {
        assert_eq!(decode(&bytes).unwrap_err(), expected, "{what}");
    }
    let mut trailing = encode(&Message::Leave {
        sender_id: peer("a"),
    });
    trailing.push(0);
    assert!(matches!(
        decode(&trailing),
        Err(DecodeError::TrailingBytes { .. })
    ));
    let number = frame(|e| {
        e.map(1).unwrap().str("type").unwrap().u8(3).unwrap();
    });
    assert!(matches!(
        decode(&number),
        Err(DecodeError::InvalidField { field: "type", .. })
    ));
    let long = frame(|e| {
        e.map(2)
            .unwrap()
            .str("type")
            .unwrap()
            .str("leave")
            .unwrap()
            .str("senderId")
            .unwrap()
            .str(&"x".repeat(MAX_ID_BYTES + 1))
            .unwrap();
    });
    assert!(matches!(
        decode(&long),
        Err(DecodeError::InvalidField {
            field: "senderId",
            ..
        })
    ));
}

#[test]
fn deep_nesting_in_an_unknown_field_is_skipped_without_recursion() {
    let depth = 200_000;
    let mut bytes = frame(|e| {
        e.map(3)
            .unwrap()
            .str("type")
            .unwrap()
            .str("leave")
            .unwrap()
            .str("senderId")
            .unwrap()
            .str("a")
            .unwrap();
        e.str("junk").unwrap();
    });
    bytes.extend(std::iter::repeat_n(0x81u8, depth)); // arrays of one element, nested
    bytes.push(0x00);
    assert_eq!(
        decode(&bytes).unwrap(),
        Message::Leave {
            sender_id: peer("a")
        }
    );
    // Indefinite-length arrays nested as deep, never closed: an error, not a crash.
    let mut open = bytes[..bytes.len() - depth - 1].to_vec();
    open.extend(std::iter::repeat_n(0x9fu8, depth));
    assert!(decode(&open).is_err());
}

/// A `leave` frame whose unknown key `junk` holds `value`, encoded as given.
fn leave_with_junk(value: &[u8]) -> Vec<u8> {
    let mut bytes = frame(|e| {
        e.map(3).unwrap().str("type").unwrap().str("leave").unwrap();
        e.str("senderId")
            .unwrap()
            .str("a")
            .unwrap()
            .str("junk")
            .unwrap();
    });
    bytes.extend_from_slice(value);
    bytes
}

#[test]
fn indefinite_nesting_inside_definite_arrays_is_refused_past_a_bound() {
    // Pairs whose first item is an indefinite-length array holding the next pair, `depth`
    // deep, every one closed: minicbor's own skip keeps two stack entries (32 bytes) per level,
    // eight times the input; the codec refuses the 65th level.
    let nested = |depth: usize| {
        let mut value = [0x82, 0x9f].repeat(depth);
        value.push(0x00);
        value.extend([0xff, 0x00].repeat(depth));
        leave_with_junk(&value)
    };
    let leave = Message::Leave {
        sender_id: peer("a"),
    };
    assert_eq!(decode(&nested(64)).unwrap(), leave);
    for depth in [65, 1_000_000] {
        let error = decode(&nested(depth)).unwrap_err();
        assert!(
            error
                .to_string()
                .contains("indefinite-length arrays or maps nested"),
            "{error}"
        );
    }
}

#[test]
fn a_summary_lists_at_most_a_million_documents_however_short_their_ids() {
    let summary = |entries: usize| {
        let mut bytes = frame(|e| {
            e.map(4)
                .unwrap()
                .str("type")
                .unwrap()
                .str("rapport-summary")
                .unwrap();
            e.str("senderId").unwrap().str("a").unwrap();
            e.str("targetId").unwrap().str("b").unwrap();
            e.str("documents").unwrap().array(entries as u64).unwrap();
        });
        for _ in 0..entries {
            bytes.extend_from_slice(&[0x82, 0x61, b'x', 0x80]); // ["x", []]
        }
        bytes
    };
    let listed = |message: Message| match message {
        Message::Summary(summary) => summary.documents.len(),
        other => panic!("not a summary: {other:?}"),
    };
    assert_eq!(listed(decode(&summary(1 << 20)).unwrap()), 1 << 20);
    let error = decode(&summary((1 << 20) + 1)).unwrap_err();
    assert!(
        error.to_string().contains("more than 1048576 items"),
        "{error}"
    );
}

#[test]
fn huge_claimed_lengths_fail_fast() {
    for header in [
        &[0x5b, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff][..],
        &[0x9b, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff],
    ] {
        let mut bytes = frame(|e| {
            e.map(2)
                .unwrap()
                .str("type")
                .unwrap()
                .str("sync")
                .unwrap()
                .str("data")
                .unwrap();
        });
        bytes.extend_from_slice(header);
        assert!(decode(&bytes).is_err());
    }
    let huge_map = [0xbb, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff];
    assert!(decode(&huge_map).is_err());
}

#[test]
fn the_handshake_agrees_on_version_one() {
    let join = Join {
        sender_id: peer("laptop"),
        supported_protocol_versions: vec!["1".into()],
        peer_metadata: PeerMetadata::default(),
    };
    let answer = answer_join(&join, peer("relay"), PeerMetadata::default()).unwrap();
    assert_eq!(answer.target_id, peer("laptop"));
    assert_eq!(check_peer(&answer, &peer("laptop")), Ok(()));
    assert!(matches!(
        check_peer(&answer, &peer("someone-else")),
        Err(HandshakeError::WrongTarget { .. })
    ));
    let future = Join {
        supported_protocol_versions: vec!["2".into()],
        ..join
    };
    let err = answer_join(&future, peer("relay"), PeerMetadata::default()).unwrap_err();
    assert!(
        err.to_string()
            .contains("unsupported protocol version(s) 2"),
        "{err}"
    );
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    #[test]
    fn random_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..256)) {
        let _ = decode(&bytes);
    }

    #[test]
    fn an_unknown_value_is_skipped_exactly_when_minicbor_can_skip_it(value in proptest::collection::vec(any::<u8>(), 0..48)) {
        let mut d = minicbor::Decoder::new(&value);
        let whole_value = d.skip().is_ok() && d.position() == value.len();
        prop_assert_eq!(decode(&leave_with_junk(&value)).is_ok(), whole_value);
    }

    #[test]
    fn mutated_messages_never_panic(index in 0usize..12, position in any::<prop::sample::Index>(), byte in any::<u8>()) {
        let mut frame = encode(&every_message()[index]);
        let at = position.index(frame.len());
        frame[at] = byte;
        if let Ok(message) = decode(&frame) {
            // Whatever still decodes must encode and decode to the same message.
            prop_assert_eq!(decode(&encode(&message)).unwrap(), message);
        }
    }
}
