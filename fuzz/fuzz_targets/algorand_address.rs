#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| liquid_mesh::untrusted::algorand_address(data));
