//! The `normal(50, 20)` draw of the seed workload, as integers.
//!
//! A cycle's uniform 64-bit hash is turned into `round(x)` for `x ~ normal(50, 20)`
//! by inverse-CDF lookup in a fixed table, then clamped to `[MIN, MAX]`
//! (mean ± 3.5 sd). The table is part of the format: it was computed once in
//! 60-digit arithmetic as `floor(Φ((k + 0.5 − 50) / 20) · 2^64)` for
//! `k = MIN ..= MAX − 1`, and no floating point runs per cycle, so every machine
//! draws the same integers.

/// Smallest sample; lower draws are clamped to it.
pub const MIN: i64 = -20;
/// Largest sample; higher draws are clamped to it.
pub const MAX: i64 = 120;
/// How many distinct samples exist.
pub const SAMPLES: usize = (MAX - MIN + 1) as usize;

/// `THRESHOLDS[i]` is `floor(Φ((MIN + i + 0.5 − 50) / 20) · 2^64)`: a uniform `u`
/// draws `MIN + #{i : THRESHOLDS[i] <= u}`.
#[rustfmt::skip]
pub const THRESHOLDS: [u64; SAMPLES - 1] = [
    0x0010bd5937c9ad60, 0x0014254fb3daec00, 0x0018301be4097abf, 0x001cf91594e3361d,
    0x00229f919b11d305, 0x0029475a76a2a99c, 0x003119325d086f59, 0x003a435e95c1bada,
    0x0044fa3beb365243, 0x005178dbc0bda8a3, 0x006001a927cf14b0, 0x0070df1511320ad8,
    0x0084644873e6dfb7, 0x009aeddafae4a05a, 0x00b4e28c7d5906ab, 0x00d2b3ff33b8876c,
    0x00f4df7047be76d3, 0x011bee6c07df1463, 0x0148777ab13c3aa7, 0x017b1ec26fc398cb,
    0x01b4969ae4ce2c8e, 0x01f5a00e3bab02b9, 0x023f0b4393652fb9, 0x0291b7ce5061400e,
    0x02ee94ddc1c77edb, 0x0356a14870c11a70, 0x03caeb6e6cf3e41f, 0x044c90edfce009eb,
    0x04dcbe26441404b8, 0x057cad83b690d0f8, 0x062da69291cd266f, 0x06f0fcd411ab3f10,
    0x07c80e53b2fd9ebb, 0x08b441fa8dd6964c, 0x09b7059fa713a47a, 0x0ad1cbd508e07956,
    0x0c0609727b01dc42, 0x0d5532dfd27c1706, 0x0ec0b92200b0b6de, 0x104a06af47a9834d,
    0x11f27c103e83756e, 0x13bb6c5497b46348, 0x15a61963dc9205f8, 0x17b3b03386fb078a,
    0x19e544ed03ebc542, 0x1c3bcf0f30a335df, 0x1eb82597c85ccb21, 0x215afb41f3617102,
    0x2424dae7b29a94b7, 0x2716241436e0932d, 0x2a2f07d54bcabbd0, 0x2d6f85d9d6b93e68,
    0x30d769eb014973e0, 0x346649ccf8e20918, 0x381b83933b8157ff, 0x3bf63c7335ff0e22,
    0x3ff5601e84a70b8f, 0x4417a0ac79327f4e, 0x485b7718a6f5d0d7, 0x4cbf245a2759947d,
    0x5140b315166e4bff, 0x55ddf9e57bcb6b6f, 0x5a949e407a090c65, 0x5f6217e642c138aa,
    0x6443b4dcfa4459ed, 0x69369dea79454a3a, 0x6e37db80bfb62682, 0x73445b0efe5a99f9,
    0x7858f4a766df842f, 0x7d7270e87e20c758, 0x828d8f1781df38a7, 0x87a70b5899207bd0,
    0x8cbba4f101a56606, 0x91c8247f4049d97d, 0x96c9621586bab5c5, 0x9bbc4b2305bba612,
    0xa09de819bd3ec755, 0xa56b61bf85f6f39a, 0xaa22061a84349490, 0xaebf4ceae991b400,
    0xb340dba5d8a66b82, 0xb7a488e7590a2f28, 0xbbe85f5386cd80b1, 0xc00a9fe17b58f470,
    0xc409c38cca00f1dd, 0xc7e47c6cc47ea800, 0xcb99b633071df6e7, 0xcf289614feb68c1f,
    0xd2907a262946c197, 0xd5d0f82ab435442f, 0xd8e9dbebc91f6cd2, 0xdbdb25184d656b48,
    0xdea504be0c9e8efd, 0xe147da6837a334de, 0xe3c430f0cf5cca20, 0xe61abb12fc143abd,
    0xe84c4fcc7904f875, 0xea59e69c236dfa07, 0xec4493ab684b9cb7, 0xee0d83efc17c8a91,
    0xefb5f950b8567cb2, 0xf13f46ddff4f4921, 0xf2aacd202d83e8f9, 0xf3f9f68d84fe23bd,
    0xf52e342af71f86a9, 0xf648fa6058ec5b85, 0xf74bbe05722969b3, 0xf837f1ac4d026144,
    0xf90f032bee54c0ef, 0xf9d2596d6e32d990, 0xfa83527c496f2f07, 0xfb2341d9bbebfb47,
    0xfbb36f12031ff614, 0xfc351491930c1be0, 0xfca95eb78f3ee58f, 0xfd116b223e388124,
    0xfd6e4831af9ebff1, 0xfdc0f4bc6c9ad046, 0xfe0a5ff1c454fd46, 0xfe4b69651b31d371,
    0xfe84e13d903c6734, 0xfeb788854ec3c558, 0xfee41193f820eb9c, 0xff0b208fb841892c,
    0xff2d4c00cc477893, 0xff4b1d7382a6f954, 0xff651225051b5fa5, 0xff7b9bb78c192048,
    0xff8f20eaeecdf527, 0xff9ffe56d830eb4f, 0xffae87243f42575c, 0xffbb05c414c9adbc,
    0xffc5bca16a3e4525, 0xffcee6cda2f790a6, 0xffd6b8a5895d5663, 0xffdd606e64ee2cfa,
    0xffe306ea6b1cc9e2, 0xffe7cfe41bf68540, 0xffebdab04c2513ff, 0xffef42a6c836529f,
];

/// The clamped, rounded normal sample drawn by the uniform 64-bit value `u`.
#[inline]
pub fn sample(u: u64) -> i64 {
    MIN + THRESHOLDS.partition_point(|&t| t <= u) as i64
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_is_increasing_and_symmetric_about_the_mean() {
        assert!(THRESHOLDS.windows(2).all(|w| w[0] < w[1]));
        for (i, (low, high)) in THRESHOLDS.iter().zip(THRESHOLDS.iter().rev()).enumerate() {
            let total = *low as u128 + *high as u128;
            let diff = total.abs_diff(1u128 << 64);
            assert!(diff <= 2, "asymmetry at {i}: {diff}");
        }
    }

    #[test]
    fn extremes_clamp_and_the_middle_is_the_mean() {
        assert_eq!(sample(0), MIN);
        assert_eq!(sample(u64::MAX), MAX);
        assert_eq!(sample(1u64 << 63), 50);
        assert_eq!(sample(THRESHOLDS[0] - 1), MIN);
        assert_eq!(sample(THRESHOLDS[0]), MIN + 1);
    }

    #[test]
    fn one_sd_holds_about_68_percent() {
        // Evenly spaced uniforms: the share inside [30, 70] is Φ(1.025) − Φ(−1.025).
        let n = 100_000u64;
        let step = u64::MAX / n;
        let inside = (0..n)
            .filter(|i| (30..=70).contains(&sample(i * step)))
            .count();
        assert!((69_000..70_000).contains(&inside), "{inside}");
    }
}
