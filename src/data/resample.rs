//! Resampling of decoded images to a common size, as the readers of image folders and
//! KTH-TIPS2-b do: the `image` crate's `Triangle` filter (described in [`super::folder`]),
//! computing only the output pixels kept (bit-identical to `imageops::resize` followed by a crop,
//! without the full-size intermediate), and torchvision's centre-crop offsets.

/// How decoded images are brought to a common size.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Resize {
    /// Keep the decoded size (all images must agree).
    None,
    /// Resample to exactly `(height, width)`.
    Exact(usize, usize),
    /// Resample so that the shorter side is `size` (the longer one `⌊long·size/short⌋`, as
    /// torchvision's `Resize(int)`), then crop the central `size × size` square (offsets as
    /// torchvision's `CenterCrop`: `round((side − size) / 2)`, half to even).
    ShorterThenCenterCrop(usize),
}

/// A decoded image: pixels `[C, H, W]` row-major, height, width.
pub(crate) struct Decoded {
    pub(crate) chw: Vec<u8>,
    pub(crate) height: usize,
    pub(crate) width: usize,
}

/// Brings an interleaved `height × width × c` image to the requested size, as `[C, H, W]`.
pub(crate) fn apply_resize(src: &[u8], c: usize, h: usize, w: usize, resize: Resize) -> Decoded {
    let window = match resize {
        Resize::None => Window::whole(h, w),
        Resize::Exact(th, tw) => Window::whole(th, tw),
        Resize::ShorterThenCenterCrop(size) => {
            // torchvision `Resize(int)`: the shorter side becomes `size`, the longer one
            // `⌊long·size/short⌋` (no overflow: at most 2^32 · usize in u128).
            let scaled = |long: usize, short: usize| long as u128 * size as u128 / short as u128;
            let (rh, rw) = if h <= w {
                (size as u128, scaled(w, h))
            } else {
                (scaled(h, w), size as u128)
            };
            // A side can round down below `size` only for a degenerate (0-sized) image.
            let (rh, rw) = (rh.max(size as u128), rw.max(size as u128));
            let rh = usize::try_from(rh).unwrap_or(usize::MAX);
            let rw = usize::try_from(rw).unwrap_or(usize::MAX);
            Window {
                grid_height: rh,
                grid_width: rw,
                top: center_offset(rh, size),
                left: center_offset(rw, size),
                height: size,
                width: size,
            }
        }
    };
    resample_window(src, c, h, w, &window)
}

/// A `height × width` window at `(top, left)` of a resampled `grid_height × grid_width` image.
#[derive(Clone, Copy, Debug)]
struct Window {
    grid_height: usize,
    grid_width: usize,
    top: usize,
    left: usize,
    height: usize,
    width: usize,
}

impl Window {
    fn whole(height: usize, width: usize) -> Self {
        Self {
            grid_height: height,
            grid_width: width,
            top: 0,
            left: 0,
            height,
            width,
        }
    }
}

/// Input taps of one output sample: the first input index and the normalised weights.
struct Taps {
    first: usize,
    weights: Vec<f32>,
}

/// The taps of output samples `outs` when `len` input samples are resampled to `new_len` with
/// the triangle filter, with the `image` crate's arithmetic (`horizontal_sample` /
/// `vertical_sample` in `image` 0.25 `imageops/sample.rs`: f32 throughout, support `1·max(1,
/// ratio)`, weights normalised by their sum).
fn taps(len: usize, new_len: usize, outs: std::ops::Range<usize>) -> Vec<Taps> {
    let ratio = len as f32 / new_len as f32;
    let sratio = if ratio < 1.0 { 1.0 } else { ratio };
    let src_support = sratio; // the triangle filter's support is 1
    outs.map(|out| {
        let input = (out as f32 + 0.5) * ratio;
        let left = ((input - src_support).floor() as i64).clamp(0, len as i64 - 1);
        let right = ((input + src_support).ceil() as i64).clamp(left + 1, len as i64);
        let input = input - 0.5;
        let mut weights: Vec<f32> = (left..right)
            .map(|i| {
                let x = (i as f32 - input) / sratio;
                if x.abs() < 1.0 { 1.0 - x.abs() } else { 0.0 }
            })
            .collect();
        let sum: f32 = weights.iter().fold(0.0, |s, &w| s + w);
        for w in &mut weights {
            *w /= sum;
        }
        Taps {
            first: left as usize,
            weights,
        }
    })
    .collect()
}

/// Most input columns whose vertically filtered values are kept at once (per output row).
const COLUMN_CHUNK: usize = 1 << 16;

/// The `window` of the interleaved `h × w × c` image `src` resampled to the window's grid with
/// the triangle filter, as `[C, H, W]`: bit-identical to `imageops::resize(.., FilterType::
/// Triangle)` cropped to the window, computing only the window's pixels. An unchanged grid is a
/// plain crop, as in `imageops::resize`.
fn resample_window(src: &[u8], c: usize, h: usize, w: usize, win: &Window) -> Decoded {
    let (oh, ow) = (win.height, win.width);
    let plane = oh * ow;
    let mut chw = vec![0u8; c * plane];
    if (win.grid_height, win.grid_width) == (h, w) {
        for y in 0..oh {
            for x in 0..ow {
                let s = ((win.top + y) * w + win.left + x) * c;
                for k in 0..c {
                    chw[k * plane + y * ow + x] = src[s + k];
                }
            }
        }
        return Decoded {
            chw,
            height: oh,
            width: ow,
        };
    }
    let rows = taps(h, win.grid_height, win.top..win.top + oh);
    let cols = taps(w, win.grid_width, win.left..win.left + ow);
    // `image` accumulates the vertical pass into an f32 buffer, then the horizontal pass reads
    // it; the vertically filtered values of a chunk of input columns are kept here.
    let mut vertical: Vec<f32> = Vec::new();
    for (y, row) in rows.iter().enumerate() {
        let mut x0 = 0;
        while x0 < ow {
            // Output columns x0..x1 whose inputs span at most COLUMN_CHUNK columns (at least one
            // output column).
            let lo = cols[x0].first;
            let mut x1 = x0 + 1;
            while x1 < ow && cols[x1].first + cols[x1].weights.len() - lo <= COLUMN_CHUNK {
                x1 += 1;
            }
            let hi = cols[x1 - 1].first + cols[x1 - 1].weights.len();
            vertical.clear();
            vertical.resize((hi - lo) * c, 0.0);
            for x in lo..hi {
                for k in 0..c {
                    let mut t = 0.0f32;
                    for (i, &wt) in row.weights.iter().enumerate() {
                        t += f32::from(src[((row.first + i) * w + x) * c + k]) * wt;
                    }
                    vertical[(x - lo) * c + k] = t;
                }
            }
            for (x, col) in cols.iter().enumerate().take(x1).skip(x0) {
                for k in 0..c {
                    let mut t = 0.0f32;
                    for (i, &wt) in col.weights.iter().enumerate() {
                        t += vertical[(col.first + i - lo) * c + k] * wt;
                    }
                    // `FloatNearest(clamp(t, 0, 255))`: round half away from zero.
                    chw[k * plane + y * ow + x] = t.clamp(0.0, 255.0).round() as u8;
                }
            }
            x0 = x1;
        }
    }
    Decoded {
        chw,
        height: oh,
        width: ow,
    }
}

/// torchvision's `CenterCrop` offset `int(round((side - size) / 2.0))`, Python's round half to
/// even.
pub(crate) fn center_offset(side: usize, size: usize) -> usize {
    let d = side.saturating_sub(size);
    let half = d / 2;
    if d % 2 == 1 && half % 2 == 1 {
        half + 1
    } else {
        half
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn center_offset_matches_python_round() {
        // int(round((side - size) / 2.0)) in Python 3
        for (side, size, want) in [
            (200, 200, 0),
            (201, 200, 0),
            (202, 200, 1),
            (203, 200, 2),
            (205, 200, 2),
            (207, 200, 4),
            (266, 200, 33),
        ] {
            assert_eq!(center_offset(side, size), want, "side {side}");
        }
    }

    /// An interleaved `h × w × c` test image with varied values.
    fn pattern(c: usize, h: usize, w: usize, seed: usize) -> Vec<u8> {
        (0..h * w * c)
            .map(|i| ((i * 7919 + seed * 104_729) % 251) as u8)
            .collect()
    }

    /// `imageops::resize` to the window's grid, cropped to the window, as `[C, H, W]`: the
    /// reference the windowed resampler must reproduce bit for bit.
    fn reference(src: &[u8], c: usize, h: usize, w: usize, win: &Window) -> Vec<u8> {
        use image::imageops::{self, FilterType};
        let (gw, gh) = (win.grid_width as u32, win.grid_height as u32);
        let crop = |raw: Vec<u8>| -> Vec<u8> {
            let mut out = vec![0; c * win.height * win.width];
            let plane = win.height * win.width;
            for y in 0..win.height {
                for x in 0..win.width {
                    let s = ((win.top + y) * win.grid_width + win.left + x) * c;
                    for k in 0..c {
                        out[k * plane + y * win.width + x] = raw[s + k];
                    }
                }
            }
            out
        };
        if c == 1 {
            let img = image::GrayImage::from_raw(w as u32, h as u32, src.to_vec()).unwrap();
            crop(imageops::resize(&img, gw, gh, FilterType::Triangle).into_raw())
        } else {
            let img = image::RgbImage::from_raw(w as u32, h as u32, src.to_vec()).unwrap();
            crop(imageops::resize(&img, gw, gh, FilterType::Triangle).into_raw())
        }
    }

    #[test]
    fn windowed_resampling_equals_resize_then_crop() {
        // Up- and downscaling, both axes or one, odd ratios, and crops anywhere in the grid.
        let cases = [
            (7, 5, Window::whole(13, 11)),
            (40, 30, Window::whole(9, 7)),
            (30, 20, Window::whole(30, 9)),
            (
                20,
                30,
                Window {
                    grid_height: 10,
                    grid_width: 15,
                    top: 0,
                    left: 2,
                    height: 10,
                    width: 10,
                },
            ),
            (
                3,
                50,
                Window {
                    grid_height: 8,
                    grid_width: 133,
                    top: 0,
                    left: 62,
                    height: 8,
                    width: 8,
                },
            ),
            (
                61,
                17,
                Window {
                    grid_height: 43,
                    grid_width: 12,
                    top: 15,
                    left: 0,
                    height: 12,
                    width: 12,
                },
            ),
        ];
        for (seed, (h, w, win)) in cases.into_iter().enumerate() {
            for c in [1, 3] {
                let src = pattern(c, h, w, seed);
                let got = resample_window(&src, c, h, w, &win);
                assert_eq!((got.height, got.width), (win.height, win.width));
                assert_eq!(
                    got.chw,
                    reference(&src, c, h, w, &win),
                    "{h}x{w} -> {win:?}, {c} channels"
                );
            }
        }
    }

    #[test]
    fn column_chunks_do_not_change_the_result() {
        // A single row wider than one chunk of vertically filtered columns.
        let (h, w) = (2, COLUMN_CHUNK + 3000);
        let src = pattern(1, h, w, 3);
        let win = Window::whole(3, 5);
        assert_eq!(
            resample_window(&src, 1, h, w, &win).chw,
            reference(&src, 1, h, w, &win)
        );
    }

    #[test]
    fn resize_shorter_then_crop_shapes() {
        // 30 wide, 20 high, RGB (x, y, 7)
        let src: Vec<u8> = (0..20)
            .flat_map(|y| (0..30).flat_map(move |x| [x as u8, y as u8, 7]))
            .collect();
        let out = apply_resize(&src, 3, 20, 30, Resize::ShorterThenCenterCrop(10));
        assert_eq!((out.height, out.width), (10, 10));
        // same size: no resampling, centre crop only
        let out = apply_resize(&src, 3, 20, 30, Resize::ShorterThenCenterCrop(20));
        assert_eq!((out.height, out.width), (20, 20));
        let plane = 400;
        assert_eq!([out.chw[0], out.chw[plane], out.chw[2 * plane]], [5, 0, 7]);
    }

    #[test]
    fn a_very_wide_image_is_cropped_without_the_full_resize() {
        // 65535 x 1 to shorter side 200: the full resize would be 13 107 000 x 200 pixels.
        let src = pattern(3, 1, 65_535, 1);
        let out = apply_resize(&src, 3, 1, 65_535, Resize::ShorterThenCenterCrop(200));
        assert_eq!(
            (out.height, out.width, out.chw.len()),
            (200, 200, 3 * 200 * 200)
        );
    }

    #[test]
    fn chw_layout() {
        // 3 wide, 2 high, RGB (x, 10 + y, 100)
        let src: Vec<u8> = (0..2)
            .flat_map(|y| (0..3).flat_map(move |x| [x as u8, 10 + y as u8, 100]))
            .collect();
        let d = apply_resize(&src, 3, 2, 3, Resize::None);
        assert_eq!((d.height, d.width), (2, 3));
        assert_eq!(&d.chw[..6], &[0, 1, 2, 0, 1, 2]);
        assert_eq!(&d.chw[6..12], &[10, 10, 10, 11, 11, 11]);
        assert!(d.chw[12..].iter().all(|&v| v == 100));
    }
}
