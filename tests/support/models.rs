//! Small hybrid models, their data and training settings, for the tests of training and
//! checkpoints (features `train` and `flex`).

/// 8x8 grey images of two classes made here, a one-scale model of two orientations, and `fit`
/// with these settings: quick enough to train, checkpoint and resume many times in one test.
pub mod synthetic {
    use std::path::Path;

    use burn::tensor::Device;
    use learnable_scattering::data::ImageDataset;
    use learnable_scattering::nn::{Scattering2dConfig, Trainable};
    use learnable_scattering::train::{FitOptions, Hybrid, HybridConfig, TrainConfig, fit};
    use ndarray::Array4;

    /// 8 grey 8x8 images of 2 classes.
    pub fn tiny_data(side: usize) -> ImageDataset {
        let images = Array4::from_shape_fn((8, 1, side, side), |(n, _, y, x)| {
            ((n * 37 + y * 11 + x * 5) % 256) as u8
        });
        let labels = (0..8).map(|n| n % 2).collect();
        ImageDataset::new(images, labels, vec!["a".into(), "b".into()]).unwrap()
    }

    /// `J = 1`, `L = 2` on 8x8 grey images, two classes; the device seeded with 1.
    pub fn tiny_model(trainable: Trainable) -> Hybrid {
        let device = Device::flex().autodiff();
        device.seed(1);
        let scattering = Scattering2dConfig::new(1, [8, 8])
            .with_num_orientations(2)
            .with_trainable(trainable);
        HybridConfig::new(scattering, 1, 2).init(&device)
    }

    /// Batches of 4, head rate 0.05, filter rate 0.1, seed 2.
    pub fn tiny_config(epochs: usize) -> TrainConfig {
        let mut c = TrainConfig::new(epochs, 4, 0.05, 0.1);
        c.seed = 2;
        c
    }

    /// The default options, checkpointing into `dir`.
    pub fn with_checkpoints(dir: &Path) -> FitOptions {
        FitOptions {
            checkpoint_dir: Some(dir.to_path_buf()),
            ..FitOptions::default()
        }
    }

    /// Trains a fresh learnable [`tiny_model`] on [`tiny_data`] for `epochs`.
    pub fn fit_tiny(options: &FitOptions, epochs: usize) -> learnable_scattering::Result<()> {
        let ds = tiny_data(8);
        fit(
            tiny_model(Trainable::all()),
            &ds,
            &ds,
            &tiny_config(epochs),
            options,
        )
        .map(|_| ())
    }
}

/// Real data: the committed Fashion-MNIST subset (`examples/data/fashion-mnist-small`), 4 training
/// and 3 test images per class, and a two-scale model for its 28x28 images.
pub mod fashion {
    use std::path::Path;

    use burn::tensor::Device;
    use learnable_scattering::data::ImageDataset;
    use learnable_scattering::data::augment::Normalization;
    use learnable_scattering::data::idx::load_fashion_mnist;
    use learnable_scattering::nn::{FilterInit, Scattering2dConfig, Trainable};
    use learnable_scattering::train::{Hybrid, HybridConfig, TrainConfig};

    /// The training and test subsets.
    pub fn tiny_data() -> (ImageDataset, ImageDataset) {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/data/fashion-mnist-small");
        let (train, test) = load_fashion_mnist(&dir).unwrap();
        // 4 images per class for training, 3 per class for testing: the first ones in file order.
        let pick = |ds: &ImageDataset, k: usize| {
            let idx: Vec<usize> = ds
                .class_indices()
                .iter()
                .flat_map(|c| c[..k].to_vec())
                .collect();
            ds.select(&idx)
        };
        (pick(&train, 4), pick(&test, 3))
    }

    /// `J = 2`, `L = 4` on 28x28 grey images, ten classes; the device seeded with 7.
    pub fn tiny_model(trainable: Trainable, init: FilterInit) -> Hybrid {
        let device = Device::flex().autodiff();
        device.seed(7);
        let scattering = Scattering2dConfig::new(2, [28, 28])
            .with_num_orientations(4)
            .with_init(init)
            .with_trainable(trainable);
        HybridConfig::new(scattering, 1, 10).init(&device)
    }

    /// Four epochs of batches of 20, the data set's normalisation, seed 3.
    pub fn tiny_config() -> TrainConfig {
        let mut c = TrainConfig::new(4, 20, 0.05, 0.1);
        c.normalization = Normalization {
            mean: vec![0.286],
            std: vec![0.353],
        };
        c.seed = 3;
        c
    }

    /// The filter parameters: `log σ`, `ξ`, `θ`, `log slant`.
    pub fn params(model: &Hybrid) -> Vec<Vec<f32>> {
        let f = &model.scattering.filters;
        [&f.log_sigma, &f.xi, &f.theta, &f.log_slant]
            .iter()
            .map(|p| p.val().into_data().convert::<f32>().try_into_vec().unwrap())
            .collect()
    }
}
