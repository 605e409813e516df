//! Algorand account addresses: 58 base32 characters that carry a 32-byte Ed25519 public key and
//! the last four bytes of its SHA-512/256 digest as a checksum.

use data_encoding::BASE32_NOPAD;
use sha2::{Digest, Sha512_256};

/// Length of an address in characters.
pub const ADDRESS_LEN: usize = 58;

/// Why a string is not an Algorand address.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum AddressError {
    #[error("address must be {ADDRESS_LEN} characters, got {0}")]
    Length(usize),
    #[error("address is not valid base32")]
    Base32,
    #[error("address checksum does not match its public key")]
    Checksum,
}

/// Decodes an address into the Ed25519 public key it names.
pub fn decode_address(address: &str) -> Result<[u8; 32], AddressError> {
    if address.len() != ADDRESS_LEN {
        return Err(AddressError::Length(address.len()));
    }
    let raw = BASE32_NOPAD
        .decode(address.as_bytes())
        .map_err(|_| AddressError::Base32)?;
    // 58 base32 characters hold 290 bits; the decoder accepts them only when the 2 spare bits are zero,
    // so a successful decode is always 36 bytes.
    let (key, checksum) = raw.split_at(32);
    if checksum != &Sha512_256::digest(key)[28..] {
        return Err(AddressError::Checksum);
    }
    Ok(key.try_into().expect("split_at(32) of 36 bytes"))
}

/// Encodes an Ed25519 public key as an address.
pub fn encode_address(public_key: &[u8; 32]) -> String {
    let mut raw = Vec::with_capacity(36);
    raw.extend_from_slice(public_key);
    raw.extend_from_slice(&Sha512_256::digest(public_key)[28..]);
    BASE32_NOPAD.encode(&raw)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_and_rejects_a_flipped_checksum() {
        let key = [7u8; 32];
        let address = encode_address(&key);
        assert_eq!(address.len(), ADDRESS_LEN);
        assert_eq!(decode_address(&address), Ok(key));

        let mut tampered = address.into_bytes();
        tampered[57] = if tampered[57] == b'A' { b'B' } else { b'A' };
        let tampered = String::from_utf8(tampered).unwrap();
        assert!(decode_address(&tampered).is_err());
    }

    #[test]
    fn rejects_wrong_length_and_alphabet() {
        assert_eq!(decode_address("ABC"), Err(AddressError::Length(3)));
        let bad = "1".repeat(ADDRESS_LEN);
        assert_eq!(decode_address(&bad), Err(AddressError::Base32));
    }

    proptest::proptest! {
        #[test]
        fn every_key_round_trips(key in proptest::array::uniform32(proptest::num::u8::ANY)) {
            let address = encode_address(&key);
            proptest::prop_assert_eq!(address.len(), ADDRESS_LEN);
            proptest::prop_assert_eq!(decode_address(&address), Ok(key));
        }

        #[test]
        fn what_decodes_is_the_one_encoding_of_its_key(text in "[A-Z2-7]{58}") {
            if let Ok(key) = decode_address(&text) {
                proptest::prop_assert_eq!(encode_address(&key), text);
            }
        }

        #[test]
        fn one_changed_character_is_refused(
            key in proptest::array::uniform32(proptest::num::u8::ANY),
            at in 0..ADDRESS_LEN,
            with in proptest::sample::select(b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567".to_vec()),
        ) {
            let mut address = encode_address(&key).into_bytes();
            proptest::prop_assume!(address[at] != with);
            address[at] = with;
            let address = String::from_utf8(address).unwrap();
            proptest::prop_assert!(decode_address(&address).is_err());
        }
    }
}
