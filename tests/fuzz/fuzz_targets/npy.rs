//! Fuzz target `npy`: see `learnable_scattering_fuzz::fuzz_npy`.

#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    learnable_scattering_fuzz::fuzz_npy(data);
});
