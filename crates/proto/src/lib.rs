//! The Rendezvous contracts: generated messages, clients and servers for every package, and the
//! encoded descriptor set that server reflection serves.

pub use prost;
pub use prost_types;
pub use tonic;

/// Every file of every package (with imports), encoded as a `FileDescriptorSet`.
pub const FILE_DESCRIPTOR_SET: &[u8] =
    include_bytes!(concat!(env!("OUT_DIR"), "/rendezvous_descriptor.bin"));

pub mod members {
    pub mod v1 {
        tonic::include_proto!("rendezvous.members.v1");
    }
}

pub mod events {
    pub mod v1 {
        tonic::include_proto!("rendezvous.events.v1");
    }
}

pub mod notifications {
    pub mod v1 {
        tonic::include_proto!("rendezvous.notifications.v1");
    }
}
