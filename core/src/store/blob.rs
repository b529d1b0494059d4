//! Vectors as SQLite blobs, and a document's centroid.

use crate::error::{Error, ErrorKind, Result};

/// Vectors are stored as little-endian f32, the model's own precision.
pub(super) fn encode(v: &[f32]) -> Vec<u8> {
    v.iter().flat_map(|x| x.to_le_bytes()).collect()
}

pub(super) fn decode(blob: &[u8]) -> Result<Vec<f32>> {
    if !blob.len().is_multiple_of(4) {
        return Err(Error::new(
            ErrorKind::CorruptStore,
            "an embedding in the store has a bad length",
        ));
    }
    Ok(blob
        .chunks_exact(4)
        .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
        .collect())
}

/// The unit-length mean of a document's chunk vectors: what the document is
/// about as a whole, for document-level ranking.
pub(super) fn centroid<'v>(vectors: impl Iterator<Item = &'v Vec<f32>>) -> Option<Vec<f32>> {
    let mut sum: Option<Vec<f32>> = None;
    for v in vectors {
        let sum = sum.get_or_insert_with(|| vec![0.0; v.len()]);
        sum.iter_mut().zip(v).for_each(|(a, b)| *a += b);
    }
    sum.map(|mut sum| {
        crate::embed::normalize(&mut sum);
        sum
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn vectors_round_trip_and_bad_blobs_are_corrupt() {
        let v = vec![0.5, -1.25, 3.0];
        assert_eq!(decode(&encode(&v)).unwrap(), v);
        let err = decode(&[1, 2, 3]).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::CorruptStore);
    }

    #[test]
    fn centroid_is_the_unit_mean() {
        let c = centroid([vec![1.0, 0.0], vec![0.0, 1.0]].iter()).unwrap();
        assert!((c[0] - c[1]).abs() < 1e-6 && (c[0] * c[0] + c[1] * c[1] - 1.0).abs() < 1e-6);
        assert!(centroid(std::iter::empty()).is_none());
    }
}
