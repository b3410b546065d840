//! Fuzz target `image_folder`: see `learnable_scattering_fuzz::fuzz_image_folder`.

#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    learnable_scattering_fuzz::fuzz_image_folder(data);
});
