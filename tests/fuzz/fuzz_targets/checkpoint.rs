//! Fuzz target `checkpoint`: see `learnable_scattering_fuzz::fuzz_checkpoint`.

#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    learnable_scattering_fuzz::fuzz_checkpoint(data);
});
