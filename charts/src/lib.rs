use plotters::prelude::*;

pub fn demo() -> String {
    let mut out = String::new();
    {
        let root = SVGBackend::with_string(&mut out, (640, 360)).into_drawing_area();
        root.fill(&WHITE).unwrap();
        let mut chart = ChartBuilder::on(&root)
            .caption("Waktu per langkah", ("sans-serif", 20))
            .margin(10)
            .x_label_area_size(40)
            .y_label_area_size(50)
            .build_cartesian_2d(0f64..10f64, 0f64..100f64)
            .unwrap();
        chart
            .configure_mesh()
            .x_desc("jam")
            .y_desc("menit")
            .draw()
            .unwrap();
        chart
            .draw_series(LineSeries::new(
                (0..10).map(|x| (x as f64, (x * x) as f64)),
                &BLUE,
            ))
            .unwrap();
        root.present().unwrap();
    }
    out
}

#[cfg(test)]
mod tests {
    #[test]
    fn demo() {
        let s = super::demo();
        std::fs::write("/tmp/demo.svg", &s).unwrap();
        assert!(s.contains("<text"));
    }
}
