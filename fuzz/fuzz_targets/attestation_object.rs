#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| liquid_mesh::untrusted::attestation_object(data));
