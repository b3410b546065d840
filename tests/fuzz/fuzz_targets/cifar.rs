//! Fuzz target `cifar`: see `learnable_scattering_fuzz::fuzz_cifar`.

#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    learnable_scattering_fuzz::fuzz_cifar(data);
});
