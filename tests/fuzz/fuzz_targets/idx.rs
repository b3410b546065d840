//! Fuzz target `idx`: see `learnable_scattering_fuzz::fuzz_idx`.

#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    learnable_scattering_fuzz::fuzz_idx(data);
});
