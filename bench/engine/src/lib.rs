//! The KTP-el case mix the engine benchmarks run (`engine-runner` and the criterion bench
//! `ktp_el_cases`): the same paths, counts and actors as the peer runners in `bench/peers/`.

pub mod mix;
