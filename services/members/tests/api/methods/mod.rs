//! The happy path of every `MemberService` and `MemberInternalService` method, over real gRPC
//! on both backends, asserting what a user (or a calling service) sees; one file per area.

mod coffee;
mod coffee_bookings;
mod connections;
mod internal;
mod meetings;
mod profiles;
mod sessions;
