//! The stable hash behind every generated field.
//!
//! Everything the generator draws is `hash64(salt, x)`: SplitMix64's finalizer over
//! `x · γ ⊕ salt`, with one salt per field. It is pure integer arithmetic, so a cycle
//! maps to the same line on every machine and in every version (`docs/generator.md`
//! states the functions; `tests/gen_golden.rs` pins their output).

use uuid::Uuid;

/// SplitMix64's increment, the golden ratio as a 64-bit odd constant.
pub const GAMMA: u64 = 0x9E37_79B9_7F4A_7C15;

/// Salts: the ASCII of the field's tag, big-endian, zero-padded to 8 bytes.
pub const SALT_FRANCHISE_HI: u64 = salt(b"fran.hi");
pub const SALT_FRANCHISE_LO: u64 = salt(b"fran.lo");
pub const SALT_KEY_HI: u64 = salt(b"key.hi");
pub const SALT_KEY_LO: u64 = salt(b"key.lo");
pub const SALT_NORMAL: u64 = salt(b"normal");
pub const SALT_WORD: u64 = salt(b"word");
pub const SALT_VALUE: u64 = salt(b"value");
pub const SALT_REVISIT: u64 = salt(b"revisit");
pub const SALT_BACK: u64 = salt(b"back");

const fn salt(tag: &[u8]) -> u64 {
    let mut bytes = [0u8; 8];
    let mut i = 0;
    while i < tag.len() && i < 8 {
        bytes[i] = tag[i];
        i += 1;
    }
    u64::from_be_bytes(bytes)
}

/// SplitMix64's output function (Steele, Lea, Flood 2014; the `mix64` variant 13).
#[inline(always)]
pub const fn mix64(mut z: u64) -> u64 {
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// The hash of `x` for the field identified by `salt`.
#[inline(always)]
pub const fn hash64(salt: u64, x: u64) -> u64 {
    mix64(x.wrapping_mul(GAMMA) ^ salt)
}

/// A version-4-shaped UUID made of two field hashes of `x`: the version nibble is set
/// to 4 and the variant bits to `10`, the other 122 bits come from the hashes.
#[inline]
pub fn hashed_uuid(salt_hi: u64, salt_lo: u64, x: u64) -> Uuid {
    let hi = (hash64(salt_hi, x) & !0xF000) | 0x4000;
    let lo = (hash64(salt_lo, x) & 0x3FFF_FFFF_FFFF_FFFF) | 0x8000_0000_0000_0000;
    Uuid::from_u64_pair(hi, lo)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn salts_are_the_documented_constants() {
        assert_eq!(SALT_FRANCHISE_HI, 0x6672_616e_2e68_6900);
        assert_eq!(SALT_FRANCHISE_LO, 0x6672_616e_2e6c_6f00);
        assert_eq!(SALT_KEY_HI, 0x6b65_792e_6869_0000);
        assert_eq!(SALT_KEY_LO, 0x6b65_792e_6c6f_0000);
        assert_eq!(SALT_NORMAL, 0x6e6f_726d_616c_0000);
        assert_eq!(SALT_WORD, 0x776f_7264_0000_0000);
        assert_eq!(SALT_VALUE, 0x7661_6c75_6500_0000);
    }

    #[test]
    fn mix64_matches_splitmix64_reference() {
        // First outputs of SplitMix64 seeded with 0: mix64(k · γ) for k = 1, 2, 3.
        assert_eq!(mix64(GAMMA), 0xE220_A839_7B1D_CDAF);
        assert_eq!(mix64(GAMMA.wrapping_mul(2)), 0x6E78_9E6A_A1B9_65F4);
        assert_eq!(mix64(GAMMA.wrapping_mul(3)), 0x06C4_5D18_8009_454F);
    }

    #[test]
    fn hashed_uuid_is_v4_shaped() {
        for x in 0..1000 {
            let u = hashed_uuid(SALT_KEY_HI, SALT_KEY_LO, x);
            assert_eq!(u.get_version_num(), 4);
            assert_eq!(u.get_variant(), uuid::Variant::RFC4122);
        }
    }
}
