;; Training kernels in WebAssembly SIMD, run on the tfjs wasm backend's own memory (imported), so they
;; read and write tensors where they lie. Pointers are byte offsets of float32 arrays; counts are in
;; elements. The elementwise kernels do their multiple-of-4 part four lanes at a time and the rest one
;; by one, with the same operations in the same order, so a result does not depend on where it falls.
;; `npm run build:kernels` compiles this file into training-kernels-wasm.ts (scripts/build-kernels.mjs).
(module
  (import "env" "memory" (memory 1))

  ;; SGD, as tfjs computes it: out = (-lr) * g + w.
  (func (export "sgd")
    (param $w i32) (param $g i32) (param $out i32) (param $n i32) (param $negLr f32)
    (local $at i32) (local $vectors i32) (local $end i32) (local $lr v128)
    (local.set $lr (f32x4.splat (local.get $negLr)))
    (local.set $vectors (i32.shl (i32.and (local.get $n) (i32.const -4)) (i32.const 2)))
    (local.set $end (i32.shl (local.get $n) (i32.const 2)))
    (block $done
      (loop $next
        (br_if $done (i32.ge_u (local.get $at) (local.get $vectors)))
        (v128.store (i32.add (local.get $out) (local.get $at))
          (f32x4.add
            (f32x4.mul (local.get $lr) (v128.load (i32.add (local.get $g) (local.get $at))))
            (v128.load (i32.add (local.get $w) (local.get $at)))))
        (local.set $at (i32.add (local.get $at) (i32.const 16)))
        (br $next)))
    (block $done
      (loop $next
        (br_if $done (i32.ge_u (local.get $at) (local.get $end)))
        (f32.store (i32.add (local.get $out) (local.get $at))
          (f32.add
            (f32.mul (local.get $negLr) (f32.load (i32.add (local.get $g) (local.get $at))))
            (f32.load (i32.add (local.get $w) (local.get $at)))))
        (local.set $at (i32.add (local.get $at) (i32.const 4)))
        (br $next))))

  ;; Momentum: acc = momentum * acc + g (in place); out = (-lr) * acc + w.
  (func (export "momentum")
    (param $w i32) (param $g i32) (param $acc i32) (param $out i32) (param $n i32)
    (param $negLr f32) (param $momentum f32)
    (local $at i32) (local $vectors i32) (local $end i32) (local $lr v128) (local $mu v128) (local $a v128)
    (local $s f32)
    (local.set $lr (f32x4.splat (local.get $negLr)))
    (local.set $mu (f32x4.splat (local.get $momentum)))
    (local.set $vectors (i32.shl (i32.and (local.get $n) (i32.const -4)) (i32.const 2)))
    (local.set $end (i32.shl (local.get $n) (i32.const 2)))
    (block $done
      (loop $next
        (br_if $done (i32.ge_u (local.get $at) (local.get $vectors)))
        (local.set $a
          (f32x4.add
            (f32x4.mul (local.get $mu) (v128.load (i32.add (local.get $acc) (local.get $at))))
            (v128.load (i32.add (local.get $g) (local.get $at)))))
        (v128.store (i32.add (local.get $acc) (local.get $at)) (local.get $a))
        (v128.store (i32.add (local.get $out) (local.get $at))
          (f32x4.add (f32x4.mul (local.get $lr) (local.get $a)) (v128.load (i32.add (local.get $w) (local.get $at)))))
        (local.set $at (i32.add (local.get $at) (i32.const 16)))
        (br $next)))
    (block $done
      (loop $next
        (br_if $done (i32.ge_u (local.get $at) (local.get $end)))
        (local.set $s
          (f32.add
            (f32.mul (local.get $momentum) (f32.load (i32.add (local.get $acc) (local.get $at))))
            (f32.load (i32.add (local.get $g) (local.get $at)))))
        (f32.store (i32.add (local.get $acc) (local.get $at)) (local.get $s))
        (f32.store (i32.add (local.get $out) (local.get $at))
          (f32.add (f32.mul (local.get $negLr) (local.get $s)) (f32.load (i32.add (local.get $w) (local.get $at)))))
        (local.set $at (i32.add (local.get $at) (i32.const 4)))
        (br $next))))

  ;; Adam in one pass: m = b1 m + (1 - b1) g and v = b2 v + (1 - b2) g^2 (in place), then
  ;; out = (m c1) / (sqrt(v c2) + eps) * (-lr) + w, where c1 and c2 undo the moments' bias
  ;; (1 / (1 - b1^t) and 1 / (1 - b2^t)).
  (func (export "adam")
    (param $w i32) (param $g i32) (param $m i32) (param $v i32) (param $out i32) (param $n i32)
    (param $negLr f32) (param $beta1 f32) (param $beta2 f32) (param $c1 f32) (param $c2 f32) (param $epsilon f32)
    (local $at i32) (local $vectors i32) (local $end i32)
    (local $lr v128) (local $b1 v128) (local $b2 v128) (local $ob1 v128) (local $ob2 v128)
    (local $k1 v128) (local $k2 v128) (local $eps v128) (local $grad v128) (local $mv v128) (local $vv v128)
    (local $gs f32) (local $ms f32) (local $vs f32)
    (local.set $lr (f32x4.splat (local.get $negLr)))
    (local.set $b1 (f32x4.splat (local.get $beta1)))
    (local.set $b2 (f32x4.splat (local.get $beta2)))
    (local.set $ob1 (f32x4.splat (f32.sub (f32.const 1) (local.get $beta1))))
    (local.set $ob2 (f32x4.splat (f32.sub (f32.const 1) (local.get $beta2))))
    (local.set $k1 (f32x4.splat (local.get $c1)))
    (local.set $k2 (f32x4.splat (local.get $c2)))
    (local.set $eps (f32x4.splat (local.get $epsilon)))
    (local.set $vectors (i32.shl (i32.and (local.get $n) (i32.const -4)) (i32.const 2)))
    (local.set $end (i32.shl (local.get $n) (i32.const 2)))
    (block $done
      (loop $next
        (br_if $done (i32.ge_u (local.get $at) (local.get $vectors)))
        (local.set $grad (v128.load (i32.add (local.get $g) (local.get $at))))
        (local.set $mv
          (f32x4.add
            (f32x4.mul (v128.load (i32.add (local.get $m) (local.get $at))) (local.get $b1))
            (f32x4.mul (local.get $grad) (local.get $ob1))))
        (local.set $vv
          (f32x4.add
            (f32x4.mul (v128.load (i32.add (local.get $v) (local.get $at))) (local.get $b2))
            (f32x4.mul (f32x4.mul (local.get $grad) (local.get $grad)) (local.get $ob2))))
        (v128.store (i32.add (local.get $m) (local.get $at)) (local.get $mv))
        (v128.store (i32.add (local.get $v) (local.get $at)) (local.get $vv))
        (v128.store (i32.add (local.get $out) (local.get $at))
          (f32x4.add
            (f32x4.mul
              (f32x4.div
                (f32x4.mul (local.get $mv) (local.get $k1))
                (f32x4.add (f32x4.sqrt (f32x4.mul (local.get $vv) (local.get $k2))) (local.get $eps)))
              (local.get $lr))
            (v128.load (i32.add (local.get $w) (local.get $at)))))
        (local.set $at (i32.add (local.get $at) (i32.const 16)))
        (br $next)))
    (block $done
      (loop $next
        (br_if $done (i32.ge_u (local.get $at) (local.get $end)))
        (local.set $gs (f32.load (i32.add (local.get $g) (local.get $at))))
        (local.set $ms
          (f32.add
            (f32.mul (f32.load (i32.add (local.get $m) (local.get $at))) (local.get $beta1))
            (f32.mul (local.get $gs) (f32.sub (f32.const 1) (local.get $beta1)))))
        (local.set $vs
          (f32.add
            (f32.mul (f32.load (i32.add (local.get $v) (local.get $at))) (local.get $beta2))
            (f32.mul (f32.mul (local.get $gs) (local.get $gs)) (f32.sub (f32.const 1) (local.get $beta2)))))
        (f32.store (i32.add (local.get $m) (local.get $at)) (local.get $ms))
        (f32.store (i32.add (local.get $v) (local.get $at)) (local.get $vs))
        (f32.store (i32.add (local.get $out) (local.get $at))
          (f32.add
            (f32.mul
              (f32.div
                (f32.mul (local.get $ms) (local.get $c1))
                (f32.add (f32.sqrt (f32.mul (local.get $vs) (local.get $c2))) (local.get $epsilon)))
              (local.get $negLr))
            (f32.load (i32.add (local.get $w) (local.get $at)))))
        (local.set $at (i32.add (local.get $at) (i32.const 4)))
        (br $next))))

  ;; RMSProp, as tfjs computes it without centering: ms = decay ms + (1 - decay) g^2 and
  ;; mom = momentum mom + (g lr) / sqrt(ms + eps) (both in place); out = w - mom.
  (func (export "rmsprop")
    (param $w i32) (param $g i32) (param $ms i32) (param $mom i32) (param $out i32) (param $n i32)
    (param $learningRate f32) (param $decay f32) (param $momentum f32) (param $epsilon f32)
    (local $at i32) (local $vectors i32) (local $end i32)
    (local $lr v128) (local $d v128) (local $od v128) (local $mu v128) (local $eps v128)
    (local $grad v128) (local $square v128) (local $step v128)
    (local $gs f32) (local $ss f32) (local $ps f32)
    (local.set $lr (f32x4.splat (local.get $learningRate)))
    (local.set $d (f32x4.splat (local.get $decay)))
    (local.set $od (f32x4.splat (f32.sub (f32.const 1) (local.get $decay))))
    (local.set $mu (f32x4.splat (local.get $momentum)))
    (local.set $eps (f32x4.splat (local.get $epsilon)))
    (local.set $vectors (i32.shl (i32.and (local.get $n) (i32.const -4)) (i32.const 2)))
    (local.set $end (i32.shl (local.get $n) (i32.const 2)))
    (block $done
      (loop $next
        (br_if $done (i32.ge_u (local.get $at) (local.get $vectors)))
        (local.set $grad (v128.load (i32.add (local.get $g) (local.get $at))))
        (local.set $square
          (f32x4.add
            (f32x4.mul (v128.load (i32.add (local.get $ms) (local.get $at))) (local.get $d))
            (f32x4.mul (f32x4.mul (local.get $grad) (local.get $grad)) (local.get $od))))
        (local.set $step
          (f32x4.add
            (f32x4.mul (v128.load (i32.add (local.get $mom) (local.get $at))) (local.get $mu))
            (f32x4.div
              (f32x4.mul (local.get $grad) (local.get $lr))
              (f32x4.sqrt (f32x4.add (local.get $square) (local.get $eps))))))
        (v128.store (i32.add (local.get $ms) (local.get $at)) (local.get $square))
        (v128.store (i32.add (local.get $mom) (local.get $at)) (local.get $step))
        (v128.store (i32.add (local.get $out) (local.get $at))
          (f32x4.sub (v128.load (i32.add (local.get $w) (local.get $at))) (local.get $step)))
        (local.set $at (i32.add (local.get $at) (i32.const 16)))
        (br $next)))
    (block $done
      (loop $next
        (br_if $done (i32.ge_u (local.get $at) (local.get $end)))
        (local.set $gs (f32.load (i32.add (local.get $g) (local.get $at))))
        (local.set $ss
          (f32.add
            (f32.mul (f32.load (i32.add (local.get $ms) (local.get $at))) (local.get $decay))
            (f32.mul (f32.mul (local.get $gs) (local.get $gs)) (f32.sub (f32.const 1) (local.get $decay)))))
        (local.set $ps
          (f32.add
            (f32.mul (f32.load (i32.add (local.get $mom) (local.get $at))) (local.get $momentum))
            (f32.div
              (f32.mul (local.get $gs) (local.get $learningRate))
              (f32.sqrt (f32.add (local.get $ss) (local.get $epsilon))))))
        (f32.store (i32.add (local.get $ms) (local.get $at)) (local.get $ss))
        (f32.store (i32.add (local.get $mom) (local.get $at)) (local.get $ps))
        (f32.store (i32.add (local.get $out) (local.get $at))
          (f32.sub (f32.load (i32.add (local.get $w) (local.get $at))) (local.get $ps)))
        (local.set $at (i32.add (local.get $at) (i32.const 4)))
        (br $next))))

  ;; dst[c][r] = src[r][c] for a rows x cols matrix, four by four with lane shuffles, the edges one by
;; one. The blocks of four go tile by tile, 64 source rows by 8 columns: a tile writes 8 output rows
;; of 256 contiguous bytes each, so when the rows are a power of two apart (512 or 1024 floats, which
;; share cache sets and, at 4 KiB, alias loads with stores) few lines collide. Square 16 x 16 tiles
;; ran a 1024 x 512 transpose 4-9x slower than 64 x 8 ones, 784 x 512 about as fast.
  (func (export "transpose")
    (param $src i32) (param $dst i32) (param $rows i32) (param $cols i32)
    (local $r i32) (local $c i32) (local $rows4 i32) (local $cols4 i32) (local $tileRow i32) (local $tileCol i32)
    (local $rowEnd i32) (local $colEnd i32) (local $in i32) (local $out i32)
    (local $srcStride i32) (local $dstStride i32)
    (local $a v128) (local $b v128) (local $e v128) (local $f v128) (local $lo v128) (local $hi v128)
    (local.set $rows4 (i32.and (local.get $rows) (i32.const -4)))
    (local.set $cols4 (i32.and (local.get $cols) (i32.const -4)))
    (local.set $srcStride (i32.shl (local.get $cols) (i32.const 2)))
    (local.set $dstStride (i32.shl (local.get $rows) (i32.const 2)))
    (block $tileRowsDone
      (loop $tileRows
        (br_if $tileRowsDone (i32.ge_u (local.get $tileRow) (local.get $rows4)))
        (local.set $rowEnd (call $min (i32.add (local.get $tileRow) (i32.const 64)) (local.get $rows4)))
        (local.set $tileCol (i32.const 0))
        (block $tileColsDone
          (loop $tileCols
            (br_if $tileColsDone (i32.ge_u (local.get $tileCol) (local.get $cols4)))
            (local.set $colEnd (call $min (i32.add (local.get $tileCol) (i32.const 8)) (local.get $cols4)))
            (local.set $r (local.get $tileRow))
            (block $rowsDone
              (loop $rowBlock
                (br_if $rowsDone (i32.ge_u (local.get $r) (local.get $rowEnd)))
                (local.set $c (local.get $tileCol))
                (block $colsDone
                  (loop $colBlock
                    (br_if $colsDone (i32.ge_u (local.get $c) (local.get $colEnd)))
                    (local.set $in
                      (i32.add (local.get $src)
                        (i32.shl (i32.add (i32.mul (local.get $r) (local.get $cols)) (local.get $c)) (i32.const 2))))
                    (local.set $out
                      (i32.add (local.get $dst)
                        (i32.shl (i32.add (i32.mul (local.get $c) (local.get $rows)) (local.get $r)) (i32.const 2))))
                    ;; rows r..r+3 of the block: a = r0, b = r1, e = r2, f = r3; lo/hi interleave pairs of them.
                    (local.set $a (v128.load (local.get $in)))
                    (local.set $b (v128.load (i32.add (local.get $in) (local.get $srcStride))))
                    (local.set $e (v128.load (i32.add (local.get $in) (i32.shl (local.get $srcStride) (i32.const 1)))))
                    (local.set $f (v128.load (i32.add (local.get $in) (i32.mul (local.get $srcStride) (i32.const 3)))))
                    ;; lo = r0[0] r1[0] r0[1] r1[1], hi = r2[0] r3[0] r2[1] r3[1]
                    (local.set $lo (i8x16.shuffle 0 1 2 3 16 17 18 19 4 5 6 7 20 21 22 23 (local.get $a) (local.get $b)))
                    (local.set $hi (i8x16.shuffle 0 1 2 3 16 17 18 19 4 5 6 7 20 21 22 23 (local.get $e) (local.get $f)))
                    (v128.store (local.get $out)
                      (i8x16.shuffle 0 1 2 3 4 5 6 7 16 17 18 19 20 21 22 23 (local.get $lo) (local.get $hi)))
                    (v128.store (i32.add (local.get $out) (local.get $dstStride))
                      (i8x16.shuffle 8 9 10 11 12 13 14 15 24 25 26 27 28 29 30 31 (local.get $lo) (local.get $hi)))
                    ;; the same for columns 2 and 3
                    (local.set $lo (i8x16.shuffle 8 9 10 11 24 25 26 27 12 13 14 15 28 29 30 31 (local.get $a) (local.get $b)))
                    (local.set $hi (i8x16.shuffle 8 9 10 11 24 25 26 27 12 13 14 15 28 29 30 31 (local.get $e) (local.get $f)))
                    (v128.store (i32.add (local.get $out) (i32.shl (local.get $dstStride) (i32.const 1)))
                      (i8x16.shuffle 0 1 2 3 4 5 6 7 16 17 18 19 20 21 22 23 (local.get $lo) (local.get $hi)))
                    (v128.store (i32.add (local.get $out) (i32.mul (local.get $dstStride) (i32.const 3)))
                      (i8x16.shuffle 8 9 10 11 12 13 14 15 24 25 26 27 28 29 30 31 (local.get $lo) (local.get $hi)))
                    (local.set $c (i32.add (local.get $c) (i32.const 4)))
                    (br $colBlock)))
                (local.set $r (i32.add (local.get $r) (i32.const 4)))
                (br $rowBlock)))
            (local.set $tileCol (local.get $colEnd))
            (br $tileCols)))
        ;; the columns past the last block of four, for this tile's rows
        (local.set $c (local.get $cols4))
        (block $edgeDone
          (loop $edge
            (br_if $edgeDone (i32.ge_u (local.get $c) (local.get $cols)))
            (call $copyColumn (local.get $src) (local.get $dst) (local.get $rows) (local.get $cols)
              (local.get $tileRow) (local.get $rowEnd) (local.get $c))
            (local.set $c (i32.add (local.get $c) (i32.const 1)))
            (br $edge)))
        (local.set $tileRow (local.get $rowEnd))
        (br $tileRows)))
    ;; the rows past the last block of four, every column
    (local.set $c (i32.const 0))
    (block $done
      (loop $column
        (br_if $done (i32.ge_u (local.get $c) (local.get $cols)))
        (call $copyColumn (local.get $src) (local.get $dst) (local.get $rows) (local.get $cols)
          (local.get $rows4) (local.get $rows) (local.get $c))
        (local.set $c (i32.add (local.get $c) (i32.const 1)))
        (br $column))))

  (func $min (param $a i32) (param $b i32) (result i32)
    (select (local.get $a) (local.get $b) (i32.lt_u (local.get $a) (local.get $b))))

  ;; dst[c][from..to] = src[from..to][c]
  (func $copyColumn
    (param $src i32) (param $dst i32) (param $rows i32) (param $cols i32) (param $from i32) (param $to i32)
    (param $c i32)
    (local $r i32)
    (local.set $r (local.get $from))
    (block $done
      (loop $next
        (br_if $done (i32.ge_u (local.get $r) (local.get $to)))
        (f32.store
          (i32.add (local.get $dst)
            (i32.shl (i32.add (i32.mul (local.get $c) (local.get $rows)) (local.get $r)) (i32.const 2)))
          (f32.load
            (i32.add (local.get $src)
              (i32.shl (i32.add (i32.mul (local.get $r) (local.get $cols)) (local.get $c)) (i32.const 2)))))
        (local.set $r (i32.add (local.get $r) (i32.const 1)))
        (br $next))))

  ;; x[r][c] = x[r][c] + bias[r], then max(., 0) when relu is set, in place (features in rows).
  (func (export "biasRows")
    (param $x i32) (param $bias i32) (param $rows i32) (param $cols i32) (param $relu i32)
    (local $r i32) (local $at i32) (local $vectors i32) (local $end i32) (local $b v128) (local $bs f32)
    (local $sum v128) (local $s f32)
    (block $rowsDone
      (loop $row
        (br_if $rowsDone (i32.ge_u (local.get $r) (local.get $rows)))
        (local.set $bs (f32.load (i32.add (local.get $bias) (i32.shl (local.get $r) (i32.const 2)))))
        (local.set $b (f32x4.splat (local.get $bs)))
        (local.set $at (i32.add (local.get $x) (i32.shl (i32.mul (local.get $r) (local.get $cols)) (i32.const 2))))
        (local.set $vectors
          (i32.add (local.get $at) (i32.shl (i32.and (local.get $cols) (i32.const -4)) (i32.const 2))))
        (local.set $end (i32.add (local.get $at) (i32.shl (local.get $cols) (i32.const 2))))
        (block $done
          (loop $next
            (br_if $done (i32.ge_u (local.get $at) (local.get $vectors)))
            (local.set $sum (f32x4.add (v128.load (local.get $at)) (local.get $b)))
            (if (local.get $relu) (then (local.set $sum (f32x4.max (local.get $sum) (v128.const f32x4 0 0 0 0)))))
            (v128.store (local.get $at) (local.get $sum))
            (local.set $at (i32.add (local.get $at) (i32.const 16)))
            (br $next)))
        (block $done
          (loop $next
            (br_if $done (i32.ge_u (local.get $at) (local.get $end)))
            (local.set $s (f32.add (f32.load (local.get $at)) (local.get $bs)))
            (if (local.get $relu) (then (local.set $s (f32.max (local.get $s) (f32.const 0)))))
            (f32.store (local.get $at) (local.get $s))
            (local.set $at (i32.add (local.get $at) (i32.const 4)))
            (br $next)))
        (local.set $r (i32.add (local.get $r) (i32.const 1)))
        (br $row))))

  ;; d = d where a > 0, else 0 (the ReLU's gradient, given its output a), in place.
  (func (export "reluGradient")
    (param $d i32) (param $a i32) (param $n i32)
    (local $at i32) (local $vectors i32) (local $end i32)
    (local.set $vectors (i32.shl (i32.and (local.get $n) (i32.const -4)) (i32.const 2)))
    (local.set $end (i32.shl (local.get $n) (i32.const 2)))
    (block $done
      (loop $next
        (br_if $done (i32.ge_u (local.get $at) (local.get $vectors)))
        (v128.store (i32.add (local.get $d) (local.get $at))
          (v128.and
            (v128.load (i32.add (local.get $d) (local.get $at)))
            (f32x4.gt (v128.load (i32.add (local.get $a) (local.get $at))) (v128.const f32x4 0 0 0 0))))
        (local.set $at (i32.add (local.get $at) (i32.const 16)))
        (br $next)))
    (block $done
      (loop $next
        (br_if $done (i32.ge_u (local.get $at) (local.get $end)))
        (if (f32.le (f32.load (i32.add (local.get $a) (local.get $at))) (f32.const 0))
          (then (f32.store (i32.add (local.get $d) (local.get $at)) (f32.const 0))))
        (local.set $at (i32.add (local.get $at) (i32.const 4)))
        (br $next))))

  ;; out[r] = the sum of row r of a rows x cols matrix (a bias gradient, features in rows).
  (func (export "rowSums")
    (param $x i32) (param $out i32) (param $rows i32) (param $cols i32)
    (local $r i32) (local $at i32) (local $vectors i32) (local $end i32) (local $sum v128) (local $s f32)
    (block $rowsDone
      (loop $row
        (br_if $rowsDone (i32.ge_u (local.get $r) (local.get $rows)))
        (local.set $at (i32.add (local.get $x) (i32.shl (i32.mul (local.get $r) (local.get $cols)) (i32.const 2))))
        (local.set $vectors
          (i32.add (local.get $at) (i32.shl (i32.and (local.get $cols) (i32.const -4)) (i32.const 2))))
        (local.set $end (i32.add (local.get $at) (i32.shl (local.get $cols) (i32.const 2))))
        (local.set $sum (v128.const f32x4 0 0 0 0))
        (block $done
          (loop $next
            (br_if $done (i32.ge_u (local.get $at) (local.get $vectors)))
            (local.set $sum (f32x4.add (local.get $sum) (v128.load (local.get $at))))
            (local.set $at (i32.add (local.get $at) (i32.const 16)))
            (br $next)))
        (local.set $s
          (f32.add
            (f32.add (f32x4.extract_lane 0 (local.get $sum)) (f32x4.extract_lane 1 (local.get $sum)))
            (f32.add (f32x4.extract_lane 2 (local.get $sum)) (f32x4.extract_lane 3 (local.get $sum)))))
        (block $done
          (loop $next
            (br_if $done (i32.ge_u (local.get $at) (local.get $end)))
            (local.set $s (f32.add (local.get $s) (f32.load (local.get $at))))
            (local.set $at (i32.add (local.get $at) (i32.const 4)))
            (br $next)))
        (f32.store (i32.add (local.get $out) (i32.shl (local.get $r) (i32.const 2))) (local.get $s))
        (local.set $r (i32.add (local.get $r) (i32.const 1)))
        (br $row))))

  ;; Convolution and pooling windows over NHWC tensors. Their geometry comes as twelve i32: batch, the
  ;; input's height, width and channels, the output's height and width, the window's height and width,
  ;; the strides (height, width) and the padding before the first row and column.

  ;; dst[0 .. bytes) = src[0 .. bytes), four lanes at a time, then one by one.
  (func $copyBytes (param $dst i32) (param $src i32) (param $bytes i32)
    (local $at i32) (local $vectors i32)
    (local.set $vectors (i32.and (local.get $bytes) (i32.const -16)))
    (block $done
      (loop $next
        (br_if $done (i32.ge_u (local.get $at) (local.get $vectors)))
        (v128.store (i32.add (local.get $dst) (local.get $at)) (v128.load (i32.add (local.get $src) (local.get $at))))
        (local.set $at (i32.add (local.get $at) (i32.const 16)))
        (br $next)))
    (block $done
      (loop $next
        (br_if $done (i32.ge_u (local.get $at) (local.get $bytes)))
        (f32.store (i32.add (local.get $dst) (local.get $at)) (f32.load (i32.add (local.get $src) (local.get $at))))
        (local.set $at (i32.add (local.get $at) (i32.const 4)))
        (br $next))))

  ;; dst[0 .. bytes) = dst + src, four lanes at a time, then one by one (the same additions either way).
  (func $addBytes (param $dst i32) (param $src i32) (param $bytes i32)
    (local $at i32) (local $vectors i32)
    (local.set $vectors (i32.and (local.get $bytes) (i32.const -16)))
    (block $done
      (loop $next
        (br_if $done (i32.ge_u (local.get $at) (local.get $vectors)))
        (v128.store (i32.add (local.get $dst) (local.get $at))
          (f32x4.add
            (v128.load (i32.add (local.get $dst) (local.get $at)))
            (v128.load (i32.add (local.get $src) (local.get $at)))))
        (local.set $at (i32.add (local.get $at) (i32.const 16)))
        (br $next)))
    (block $done
      (loop $next
        (br_if $done (i32.ge_u (local.get $at) (local.get $bytes)))
        (f32.store (i32.add (local.get $dst) (local.get $at))
          (f32.add
            (f32.load (i32.add (local.get $dst) (local.get $at)))
            (f32.load (i32.add (local.get $src) (local.get $at)))))
        (local.set $at (i32.add (local.get $at) (i32.const 4)))
        (br $next))))

  ;; dst[0 .. bytes) = 0.
  (func $zeroBytes (param $dst i32) (param $bytes i32)
    (local $at i32) (local $vectors i32)
    (local.set $vectors (i32.and (local.get $bytes) (i32.const -16)))
    (block $done
      (loop $next
        (br_if $done (i32.ge_u (local.get $at) (local.get $vectors)))
        (v128.store (i32.add (local.get $dst) (local.get $at)) (v128.const i32x4 0 0 0 0))
        (local.set $at (i32.add (local.get $at) (i32.const 16)))
        (br $next)))
    (block $done
      (loop $next
        (br_if $done (i32.ge_u (local.get $at) (local.get $bytes)))
        (f32.store (i32.add (local.get $dst) (local.get $at)) (f32.const 0))
        (local.set $at (i32.add (local.get $at) (i32.const 4)))
        (br $next))))


  ;; Walks the convolution's windows row by row of the unfolded matrix (one row per output position,
  ;; filter rows one after another in it) and, per filter row, either unfolds the input's taps into
  ;; cols (zeros where the window lies in the padding; $fold = 0) or adds cols onto them ($fold = 1).
  (func $windows (param $x i32) (param $cols i32) (param $fold i32)
    (param $batch i32) (param $inH i32) (param $inW i32) (param $ch i32) (param $outH i32) (param $outW i32)
    (param $fH i32) (param $fW i32) (param $sH i32) (param $sW i32) (param $padT i32) (param $padL i32)
    (local $b i32) (local $oy i32) (local $ox i32) (local $ky i32) (local $iy i32) (local $top i32) (local $left i32)
    (local $first i32) (local $last i32) (local $pixel i32) (local $segment i32) (local $batchAt i32)
    (local $src i32) (local $start i32) (local $end i32)
    (local.set $pixel (i32.shl (local.get $ch) (i32.const 2)))
    (local.set $segment (i32.mul (local.get $fW) (local.get $pixel)))
    (if (local.get $fold)
      (then
        (call $zeroBytes (local.get $x)
          (i32.mul (i32.mul (local.get $batch) (local.get $inH)) (i32.mul (local.get $inW) (local.get $pixel))))))
    (local.set $b (i32.const 0))
    (block $batchDone
      (loop $batchNext
        (br_if $batchDone (i32.ge_u (local.get $b) (local.get $batch)))
        (local.set $batchAt
          (i32.add (local.get $x)
            (i32.mul (local.get $b) (i32.mul (local.get $inH) (i32.mul (local.get $inW) (local.get $pixel))))))
        (local.set $oy (i32.const 0))
        (block $oyDone
          (loop $oyNext
            (br_if $oyDone (i32.ge_u (local.get $oy) (local.get $outH)))
            (local.set $top (i32.sub (i32.mul (local.get $oy) (local.get $sH)) (local.get $padT)))
            (local.set $ox (i32.const 0))
            (block $oxDone
              (loop $oxNext
                (br_if $oxDone (i32.ge_u (local.get $ox) (local.get $outW)))
                (local.set $left (i32.sub (i32.mul (local.get $ox) (local.get $sW)) (local.get $padL)))
                (local.set $first (select (i32.sub (i32.const 0) (local.get $left)) (i32.const 0)
                  (i32.lt_s (local.get $left) (i32.const 0))))
                (local.set $last (select (i32.sub (local.get $inW) (local.get $left)) (local.get $fW)
                  (i32.lt_s (i32.sub (local.get $inW) (local.get $left)) (local.get $fW))))
                (local.set $ky (i32.const 0))
                (block $kyDone
                  (loop $kyNext
                    (br_if $kyDone (i32.ge_u (local.get $ky) (local.get $fH)))
                    (local.set $iy (i32.add (local.get $top) (local.get $ky)))
                    (local.set $start (i32.const 0))
                    (local.set $end (i32.const 0))
                    (if (i32.and
                          (i32.and (i32.ge_s (local.get $iy) (i32.const 0)) (i32.lt_s (local.get $iy) (local.get $inH)))
                          (i32.lt_s (local.get $first) (local.get $last)))
                      (then
                        (local.set $start (i32.mul (local.get $first) (local.get $pixel)))
                        (local.set $end (i32.mul (local.get $last) (local.get $pixel)))))
                    ;; The input address of the segment's first tap, which may lie before the input.
                    (local.set $src
                      (i32.add (local.get $batchAt)
                        (i32.mul (i32.add (i32.mul (local.get $iy) (local.get $inW)) (local.get $left)) (local.get $pixel))))
                    (if (local.get $fold)
                      (then
                        (call $addBytes (i32.add (local.get $src) (local.get $start))
                          (i32.add (local.get $cols) (local.get $start)) (i32.sub (local.get $end) (local.get $start))))
                      (else
                        (call $zeroBytes (local.get $cols) (local.get $start))
                        (call $copyBytes (i32.add (local.get $cols) (local.get $start))
                          (i32.add (local.get $src) (local.get $start)) (i32.sub (local.get $end) (local.get $start)))
                        (call $zeroBytes (i32.add (local.get $cols) (local.get $end))
                          (i32.sub (local.get $segment) (local.get $end)))))
                    (local.set $cols (i32.add (local.get $cols) (local.get $segment)))
                    (local.set $ky (i32.add (local.get $ky) (i32.const 1)))
                    (br $kyNext)))
                (local.set $ox (i32.add (local.get $ox) (i32.const 1)))
                (br $oxNext)))
            (local.set $oy (i32.add (local.get $oy) (i32.const 1)))
            (br $oyNext)))
        (local.set $b (i32.add (local.get $b) (i32.const 1)))
        (br $batchNext))))

  ;; im2col: each output position's window of x as one row of cols, zeros where it overlaps the padding.
  (func (export "unfoldWindows") (param $x i32) (param $cols i32)
    (param $batch i32) (param $inH i32) (param $inW i32) (param $ch i32) (param $outH i32) (param $outW i32)
    (param $fH i32) (param $fW i32) (param $sH i32) (param $sW i32) (param $padT i32) (param $padL i32)
    (call $windows (local.get $x) (local.get $cols) (i32.const 0)
      (local.get $batch) (local.get $inH) (local.get $inW) (local.get $ch) (local.get $outH) (local.get $outW)
      (local.get $fH) (local.get $fW) (local.get $sH) (local.get $sW) (local.get $padT) (local.get $padL)))

  ;; col2im: dx = 0, then each row of cols added back onto the input positions its window covers, in
  ;; row order.
  (func (export "foldWindows") (param $cols i32) (param $dx i32)
    (param $batch i32) (param $inH i32) (param $inW i32) (param $ch i32) (param $outH i32) (param $outW i32)
    (param $fH i32) (param $fW i32) (param $sH i32) (param $sW i32) (param $padT i32) (param $padL i32)
    (call $windows (local.get $dx) (local.get $cols) (i32.const 1)
      (local.get $batch) (local.get $inH) (local.get $inW) (local.get $ch) (local.get $outH) (local.get $outW)
      (local.get $fH) (local.get $fW) (local.get $sH) (local.get $sW) (local.get $padT) (local.get $padL)))

  ;; Max pooling's gradient (the window being the pool's): dx = 0, then each output's
  ;; gradient added to the first largest input of its window in row-major window order (none when no
  ;; input is larger than -infinity), as tfjs's cpu backend does; channels four at a time, then one by one.
  (func (export "maxPoolGradient") (param $x i32) (param $dy i32) (param $dx i32)
    (param $batch i32) (param $inH i32) (param $inW i32) (param $ch i32) (param $outH i32) (param $outW i32)
    (param $fH i32) (param $fW i32) (param $sH i32) (param $sW i32) (param $padT i32) (param $padL i32)
    (local $b i32) (local $oy i32) (local $ox i32) (local $iy i32) (local $ix i32) (local $top i32) (local $left i32)
    (local $iy0 i32) (local $iy1 i32) (local $ix0 i32) (local $ix1 i32) (local $pixel i32) (local $row i32)
    (local $batchAt i32) (local $c i32) (local $vectors i32) (local $at i32) (local $where i32) (local $tiles i32)
    (local $best v128) (local $index v128) (local $v v128) (local $m v128) (local $g v128)
    (local $bestS f32) (local $s f32)
    (local.set $pixel (i32.shl (local.get $ch) (i32.const 2)))
    (local.set $row (i32.mul (local.get $inW) (local.get $pixel)))
    (local.set $vectors (i32.and (local.get $pixel) (i32.const -16)))
    ;; Windows that tile the input exactly, channels in fours: each input is in one window, so dx is
    ;; written once instead of cleared and added to.
    (local.set $tiles
      (i32.and
        (i32.and
          (i32.and (i32.eq (local.get $vectors) (local.get $pixel))
            (i32.eqz (i32.or (local.get $padT) (local.get $padL))))
          (i32.and (i32.eq (local.get $sH) (local.get $fH)) (i32.eq (local.get $sW) (local.get $fW))))
        (i32.and (i32.eq (i32.mul (local.get $outH) (local.get $sH)) (local.get $inH))
          (i32.eq (i32.mul (local.get $outW) (local.get $sW)) (local.get $inW)))))
    (if (i32.eqz (local.get $tiles))
      (then
        (call $zeroBytes (local.get $dx) (i32.mul (i32.mul (local.get $batch) (local.get $inH)) (local.get $row)))))
    (local.set $b (i32.const 0))
    (block $batchDone
      (loop $batchNext
        (br_if $batchDone (i32.ge_u (local.get $b) (local.get $batch)))
        (local.set $batchAt (i32.mul (local.get $b) (i32.mul (local.get $inH) (local.get $row))))
        (local.set $oy (i32.const 0))
        (block $oyDone
          (loop $oyNext
            (br_if $oyDone (i32.ge_u (local.get $oy) (local.get $outH)))
            (local.set $top (i32.sub (i32.mul (local.get $oy) (local.get $sH)) (local.get $padT)))
            (local.set $iy0 (select (local.get $top) (i32.const 0) (i32.gt_s (local.get $top) (i32.const 0))))
            (local.set $iy1 (i32.add (local.get $top) (local.get $fH)))
            (local.set $iy1 (select (local.get $inH) (local.get $iy1) (i32.lt_s (local.get $inH) (local.get $iy1))))
            (local.set $ox (i32.const 0))
            (block $oxDone
              (loop $oxNext
                (br_if $oxDone (i32.ge_u (local.get $ox) (local.get $outW)))
                (local.set $left (i32.sub (i32.mul (local.get $ox) (local.get $sW)) (local.get $padL)))
                (local.set $ix0 (select (local.get $left) (i32.const 0) (i32.gt_s (local.get $left) (i32.const 0))))
                (local.set $ix1 (i32.add (local.get $left) (local.get $fW)))
                (local.set $ix1 (select (local.get $inW) (local.get $ix1) (i32.lt_s (local.get $inW) (local.get $ix1))))
                ;; Channels four at a time: the largest value and its byte offset per lane, then each tap
                ;; of the window gets the gradient in the lanes where it is that offset.
                (local.set $c (i32.const 0))
                (block $cDone
                  (loop $cNext
                    (br_if $cDone (i32.ge_u (local.get $c) (local.get $vectors)))
                    (local.set $best (v128.const f32x4 -inf -inf -inf -inf))
                    (local.set $index (v128.const i32x4 -1 -1 -1 -1))
                    (local.set $iy (local.get $iy0))
                    (block $yDone
                      (loop $yNext
                        (br_if $yDone (i32.ge_s (local.get $iy) (local.get $iy1)))
                        (local.set $ix (local.get $ix0))
                        (block $xDone
                          (loop $xNext
                            (br_if $xDone (i32.ge_s (local.get $ix) (local.get $ix1)))
                            (local.set $at
                              (i32.add (i32.add (local.get $batchAt) (local.get $c))
                                (i32.add (i32.mul (local.get $iy) (local.get $row)) (i32.mul (local.get $ix) (local.get $pixel)))))
                            (local.set $v (v128.load (i32.add (local.get $x) (local.get $at))))
                            (local.set $m (f32x4.gt (local.get $v) (local.get $best)))
                            (local.set $best (v128.bitselect (local.get $v) (local.get $best) (local.get $m)))
                            (local.set $index (v128.bitselect (i32x4.splat (local.get $at)) (local.get $index) (local.get $m)))
                            (local.set $ix (i32.add (local.get $ix) (i32.const 1)))
                            (br $xNext)))
                        (local.set $iy (i32.add (local.get $iy) (i32.const 1)))
                        (br $yNext)))
                    (local.set $g (v128.load (local.get $dy)))
                    (local.set $iy (local.get $iy0))
                    (block $yDone
                      (loop $yNext
                        (br_if $yDone (i32.ge_s (local.get $iy) (local.get $iy1)))
                        (local.set $ix (local.get $ix0))
                        (block $xDone
                          (loop $xNext
                            (br_if $xDone (i32.ge_s (local.get $ix) (local.get $ix1)))
                            (local.set $at
                              (i32.add (i32.add (local.get $batchAt) (local.get $c))
                                (i32.add (i32.mul (local.get $iy) (local.get $row)) (i32.mul (local.get $ix) (local.get $pixel)))))
                            ;; Adding 0 leaves dx as it is (it starts at +0, so it is never -0); no branch
                            ;; to mispredict. Tiles add to +0 without reading it.
                            (local.set $m (i32x4.eq (local.get $index) (i32x4.splat (local.get $at))))
                            (if (local.get $tiles)
                              (then
                                (v128.store (i32.add (local.get $dx) (local.get $at))
                                  (f32x4.add (v128.const i32x4 0 0 0 0) (v128.and (local.get $g) (local.get $m)))))
                              (else
                                (v128.store (i32.add (local.get $dx) (local.get $at))
                                  (f32x4.add (v128.load (i32.add (local.get $dx) (local.get $at)))
                                    (v128.and (local.get $g) (local.get $m))))))
                            (local.set $ix (i32.add (local.get $ix) (i32.const 1)))
                            (br $xNext)))
                        (local.set $iy (i32.add (local.get $iy) (i32.const 1)))
                        (br $yNext)))
                    (local.set $dy (i32.add (local.get $dy) (i32.const 16)))
                    (local.set $c (i32.add (local.get $c) (i32.const 16)))
                    (br $cNext)))
                ;; The remaining channels one by one.
                (block $cDone
                  (loop $cNext
                    (br_if $cDone (i32.ge_u (local.get $c) (local.get $pixel)))
                    (local.set $bestS (f32.const -inf))
                    (local.set $where (i32.const -1))
                    (local.set $iy (local.get $iy0))
                    (block $yDone
                      (loop $yNext
                        (br_if $yDone (i32.ge_s (local.get $iy) (local.get $iy1)))
                        (local.set $ix (local.get $ix0))
                        (block $xDone
                          (loop $xNext
                            (br_if $xDone (i32.ge_s (local.get $ix) (local.get $ix1)))
                            (local.set $at
                              (i32.add (i32.add (local.get $batchAt) (local.get $c))
                                (i32.add (i32.mul (local.get $iy) (local.get $row)) (i32.mul (local.get $ix) (local.get $pixel)))))
                            (local.set $s (f32.load (i32.add (local.get $x) (local.get $at))))
                            (if (f32.gt (local.get $s) (local.get $bestS))
                              (then (local.set $bestS (local.get $s)) (local.set $where (local.get $at))))
                            (local.set $ix (i32.add (local.get $ix) (i32.const 1)))
                            (br $xNext)))
                        (local.set $iy (i32.add (local.get $iy) (i32.const 1)))
                        (br $yNext)))
                    (if (i32.ge_s (local.get $where) (i32.const 0))
                      (then
                        (f32.store (i32.add (local.get $dx) (local.get $where))
                          (f32.add (f32.load (i32.add (local.get $dx) (local.get $where))) (f32.load (local.get $dy))))))
                    (local.set $dy (i32.add (local.get $dy) (i32.const 4)))
                    (local.set $c (i32.add (local.get $c) (i32.const 4)))
                    (br $cNext)))
                (local.set $ox (i32.add (local.get $ox) (i32.const 1)))
                (br $oxNext)))
            (local.set $oy (i32.add (local.get $oy) (i32.const 1)))
            (br $oyNext)))
        (local.set $b (i32.add (local.get $b) (i32.const 1)))
        (br $batchNext))))

  ;; out[c] = the sum of column c of a rows x cols matrix (a bias gradient, channels last), each column
  ;; added up row by row in float64 in the scratch space (cols float64) and rounded once at the end.
  (func (export "columnSums") (param $x i32) (param $out i32) (param $rows i32) (param $cols i32) (param $scratch i32)
    (local $r i32) (local $c i32) (local $vectors i32) (local $v v128) (local $at i32) (local $acc i32)
    (local.set $vectors (i32.and (local.get $cols) (i32.const -4)))
    (call $zeroBytes (local.get $scratch) (i32.shl (local.get $cols) (i32.const 3)))
    (local.set $at (local.get $x))
    (block $rowsDone
      (loop $rowNext
        (br_if $rowsDone (i32.ge_u (local.get $r) (local.get $rows)))
        (local.set $c (i32.const 0))
        (local.set $acc (local.get $scratch))
        (block $done
          (loop $next
            (br_if $done (i32.ge_u (local.get $c) (local.get $vectors)))
            (local.set $v (v128.load (local.get $at)))
            (v128.store (local.get $acc)
              (f64x2.add (v128.load (local.get $acc)) (f64x2.promote_low_f32x4 (local.get $v))))
            (v128.store offset=16 (local.get $acc)
              (f64x2.add (v128.load offset=16 (local.get $acc))
                (f64x2.promote_low_f32x4
                  (i8x16.shuffle 8 9 10 11 12 13 14 15 0 1 2 3 4 5 6 7 (local.get $v) (local.get $v)))))
            (local.set $at (i32.add (local.get $at) (i32.const 16)))
            (local.set $acc (i32.add (local.get $acc) (i32.const 32)))
            (local.set $c (i32.add (local.get $c) (i32.const 4)))
            (br $next)))
        (block $done
          (loop $next
            (br_if $done (i32.ge_u (local.get $c) (local.get $cols)))
            (f64.store (local.get $acc)
              (f64.add (f64.load (local.get $acc)) (f64.promote_f32 (f32.load (local.get $at)))))
            (local.set $at (i32.add (local.get $at) (i32.const 4)))
            (local.set $acc (i32.add (local.get $acc) (i32.const 8)))
            (local.set $c (i32.add (local.get $c) (i32.const 1)))
            (br $next)))
        (local.set $r (i32.add (local.get $r) (i32.const 1)))
        (br $rowNext)))
    (local.set $c (i32.const 0))
    (block $done
      (loop $next
        (br_if $done (i32.ge_u (local.get $c) (local.get $cols)))
        (f32.store (i32.add (local.get $out) (i32.shl (local.get $c) (i32.const 2)))
          (f32.demote_f64 (f64.load (i32.add (local.get $scratch) (i32.shl (local.get $c) (i32.const 3))))))
        (local.set $c (i32.add (local.get $c) (i32.const 1)))
        (br $next))))

  ;; A convolution's filter gradient straight from its input and output gradient, without unfolding:
  ;; dw[ky][kx][c][n] = the sum over output positions of x[window tap] * dy[position][n], for outCh a
  ;; multiple of four. Per example, output row and tap, the products along the output row are added
  ;; up in four-lane accumulators (sixteen filters at a time, then four), which then go onto dw.
  (func (export "filterGradient") (param $x i32) (param $dy i32) (param $dw i32)
    (param $batch i32) (param $inH i32) (param $inW i32) (param $ch i32) (param $outH i32) (param $outW i32)
    (param $fH i32) (param $fW i32) (param $sH i32) (param $sW i32) (param $padT i32) (param $padL i32)
    (param $outCh i32)
    (local $b i32) (local $oy i32) (local $ky i32) (local $kx i32) (local $c i32) (local $iy i32) (local $n i32)
    (local $pixel i32) (local $dyPixel i32) (local $step i32) (local $oxFirst i32) (local $oxLast i32) (local $t i32)
    (local $dyRow i32) (local $xRow i32) (local $tap i32) (local $xp i32) (local $dp i32) (local $ox i32)
    (local $blocks i32)
    (local $s v128) (local $a0 v128) (local $a1 v128) (local $a2 v128) (local $a3 v128)
    (local $u v128) (local $b0 v128) (local $b1 v128) (local $b2 v128) (local $b3 v128)
    (local $d0 v128) (local $d1 v128) (local $d2 v128) (local $d3 v128)
    (local.set $pixel (i32.shl (local.get $ch) (i32.const 2)))
    (local.set $dyPixel (i32.shl (local.get $outCh) (i32.const 2)))
    (local.set $step (i32.mul (local.get $sW) (local.get $pixel)))
    (local.set $blocks (i32.and (local.get $dyPixel) (i32.const -64)))
    (call $zeroBytes (local.get $dw)
      (i32.mul (i32.mul (i32.mul (local.get $fH) (local.get $fW)) (local.get $ch)) (local.get $dyPixel)))
    (local.set $dyRow (local.get $dy))
    (block $batchDone
      (loop $batchNext
        (br_if $batchDone (i32.ge_u (local.get $b) (local.get $batch)))
        (local.set $oy (i32.const 0))
        (block $oyDone
          (loop $oyNext
            (br_if $oyDone (i32.ge_u (local.get $oy) (local.get $outH)))
            (local.set $ky (i32.const 0))
            (block $kyDone
              (loop $kyNext
                (br_if $kyDone (i32.ge_u (local.get $ky) (local.get $fH)))
                (local.set $iy
                  (i32.add (i32.sub (i32.mul (local.get $oy) (local.get $sH)) (local.get $padT)) (local.get $ky)))
                (if (i32.and (i32.ge_s (local.get $iy) (i32.const 0)) (i32.lt_s (local.get $iy) (local.get $inH)))
                  (then
                    (local.set $xRow
                      (i32.add (local.get $x)
                        (i32.mul (i32.add (i32.mul (local.get $b) (local.get $inH)) (local.get $iy))
                          (i32.mul (local.get $inW) (local.get $pixel)))))
                    (local.set $kx (i32.const 0))
                    (block $kxDone
                      (loop $kxNext
                        (br_if $kxDone (i32.ge_u (local.get $kx) (local.get $fW)))
                        ;; The output columns whose tap kx lies inside the input: ox * sW - padL + kx in [0, inW).
                        (local.set $t (i32.sub (local.get $padL) (local.get $kx)))
                        (local.set $oxFirst
                          (select (i32.div_s (i32.sub (i32.add (local.get $t) (local.get $sW)) (i32.const 1)) (local.get $sW))
                            (i32.const 0) (i32.gt_s (local.get $t) (i32.const 0))))
                        (local.set $t (i32.add (i32.sub (local.get $inW) (i32.const 1)) (local.get $t)))
                        (local.set $oxLast
                          (select (i32.add (i32.div_s (local.get $t) (local.get $sW)) (i32.const 1)) (i32.const 0)
                            (i32.ge_s (local.get $t) (i32.const 0))))
                        (local.set $oxLast
                          (select (local.get $outW) (local.get $oxLast) (i32.lt_s (local.get $outW) (local.get $oxLast))))
                        (local.set $c (i32.const 0))
                        (block $cDone
                          (loop $cNext
                            (br_if $cDone (i32.ge_u (local.get $c) (local.get $pixel)))
                            (local.set $tap
                              (i32.add (local.get $dw)
                                (i32.mul
                                  (i32.add (i32.mul (i32.add (i32.mul (local.get $ky) (local.get $fW)) (local.get $kx)) (local.get $ch))
                                    (i32.shr_u (local.get $c) (i32.const 2)))
                                  (local.get $dyPixel))))
                            (local.set $n (i32.const 0))
                            ;; Two channels and sixteen filters at a time, when the filters come in sixteens.
                            (if (i32.and (i32.eq (local.get $blocks) (local.get $dyPixel))
                                  (i32.le_u (i32.add (local.get $c) (i32.const 8)) (local.get $pixel)))
                              (then
                                (block $nDone
                                  (loop $nNext
                                    (br_if $nDone (i32.ge_u (local.get $n) (local.get $blocks)))
                                    (local.set $a0 (v128.const i32x4 0 0 0 0))
                                    (local.set $a1 (v128.const i32x4 0 0 0 0))
                                    (local.set $a2 (v128.const i32x4 0 0 0 0))
                                    (local.set $a3 (v128.const i32x4 0 0 0 0))
                                    (local.set $b0 (v128.const i32x4 0 0 0 0))
                                    (local.set $b1 (v128.const i32x4 0 0 0 0))
                                    (local.set $b2 (v128.const i32x4 0 0 0 0))
                                    (local.set $b3 (v128.const i32x4 0 0 0 0))
                                    (local.set $xp
                                      (i32.add (i32.add (local.get $xRow) (local.get $c))
                                        (i32.mul (i32.add (i32.sub (i32.mul (local.get $oxFirst) (local.get $sW)) (local.get $padL)) (local.get $kx))
                                          (local.get $pixel))))
                                    (local.set $dp
                                      (i32.add (i32.add (local.get $dyRow) (local.get $n))
                                        (i32.mul (local.get $oxFirst) (local.get $dyPixel))))
                                    (local.set $ox (local.get $oxFirst))
                                    (block $oxDone
                                      (loop $oxNext
                                        (br_if $oxDone (i32.ge_s (local.get $ox) (local.get $oxLast)))
                                        (local.set $s (v128.load32_splat (local.get $xp)))
                                        (local.set $u (v128.load32_splat offset=4 (local.get $xp)))
                                        (local.set $d0 (v128.load (local.get $dp)))
                                        (local.set $d1 (v128.load offset=16 (local.get $dp)))
                                        (local.set $d2 (v128.load offset=32 (local.get $dp)))
                                        (local.set $d3 (v128.load offset=48 (local.get $dp)))
                                        (local.set $a0 (f32x4.add (local.get $a0) (f32x4.mul (local.get $s) (local.get $d0))))
                                        (local.set $a1 (f32x4.add (local.get $a1) (f32x4.mul (local.get $s) (local.get $d1))))
                                        (local.set $a2 (f32x4.add (local.get $a2) (f32x4.mul (local.get $s) (local.get $d2))))
                                        (local.set $a3 (f32x4.add (local.get $a3) (f32x4.mul (local.get $s) (local.get $d3))))
                                        (local.set $b0 (f32x4.add (local.get $b0) (f32x4.mul (local.get $u) (local.get $d0))))
                                        (local.set $b1 (f32x4.add (local.get $b1) (f32x4.mul (local.get $u) (local.get $d1))))
                                        (local.set $b2 (f32x4.add (local.get $b2) (f32x4.mul (local.get $u) (local.get $d2))))
                                        (local.set $b3 (f32x4.add (local.get $b3) (f32x4.mul (local.get $u) (local.get $d3))))
                                        (local.set $xp (i32.add (local.get $xp) (local.get $step)))
                                        (local.set $dp (i32.add (local.get $dp) (local.get $dyPixel)))
                                        (local.set $ox (i32.add (local.get $ox) (i32.const 1)))
                                        (br $oxNext)))
                                    (local.set $t (i32.add (local.get $tap) (local.get $n)))
                                    (v128.store (local.get $t) (f32x4.add (v128.load (local.get $t)) (local.get $a0)))
                                    (v128.store offset=16 (local.get $t) (f32x4.add (v128.load offset=16 (local.get $t)) (local.get $a1)))
                                    (v128.store offset=32 (local.get $t) (f32x4.add (v128.load offset=32 (local.get $t)) (local.get $a2)))
                                    (v128.store offset=48 (local.get $t) (f32x4.add (v128.load offset=48 (local.get $t)) (local.get $a3)))
                                    ;; The next channel's row of dw.
                                    (local.set $t (i32.add (local.get $t) (local.get $dyPixel)))
                                    (v128.store (local.get $t) (f32x4.add (v128.load (local.get $t)) (local.get $b0)))
                                    (v128.store offset=16 (local.get $t) (f32x4.add (v128.load offset=16 (local.get $t)) (local.get $b1)))
                                    (v128.store offset=32 (local.get $t) (f32x4.add (v128.load offset=32 (local.get $t)) (local.get $b2)))
                                    (v128.store offset=48 (local.get $t) (f32x4.add (v128.load offset=48 (local.get $t)) (local.get $b3)))
                                    (local.set $n (i32.add (local.get $n) (i32.const 64)))
                                    (br $nNext)))
                                (local.set $c (i32.add (local.get $c) (i32.const 8)))
                                (br $cNext)))
                            ;; One channel, sixteen filters at a time.
                            (block $nDone
                              (loop $nNext
                                (br_if $nDone (i32.ge_u (local.get $n) (local.get $blocks)))
                                (local.set $a0 (v128.const i32x4 0 0 0 0))
                                (local.set $a1 (v128.const i32x4 0 0 0 0))
                                (local.set $a2 (v128.const i32x4 0 0 0 0))
                                (local.set $a3 (v128.const i32x4 0 0 0 0))
                                (local.set $xp
                                  (i32.add (i32.add (local.get $xRow) (local.get $c))
                                    (i32.mul (i32.add (i32.sub (i32.mul (local.get $oxFirst) (local.get $sW)) (local.get $padL)) (local.get $kx))
                                      (local.get $pixel))))
                                (local.set $dp
                                  (i32.add (i32.add (local.get $dyRow) (local.get $n))
                                    (i32.mul (local.get $oxFirst) (local.get $dyPixel))))
                                (local.set $ox (local.get $oxFirst))
                                (block $oxDone
                                  (loop $oxNext
                                    (br_if $oxDone (i32.ge_s (local.get $ox) (local.get $oxLast)))
                                    (local.set $s (v128.load32_splat (local.get $xp)))
                                    (local.set $a0 (f32x4.add (local.get $a0) (f32x4.mul (local.get $s) (v128.load (local.get $dp)))))
                                    (local.set $a1 (f32x4.add (local.get $a1) (f32x4.mul (local.get $s) (v128.load offset=16 (local.get $dp)))))
                                    (local.set $a2 (f32x4.add (local.get $a2) (f32x4.mul (local.get $s) (v128.load offset=32 (local.get $dp)))))
                                    (local.set $a3 (f32x4.add (local.get $a3) (f32x4.mul (local.get $s) (v128.load offset=48 (local.get $dp)))))
                                    (local.set $xp (i32.add (local.get $xp) (local.get $step)))
                                    (local.set $dp (i32.add (local.get $dp) (local.get $dyPixel)))
                                    (local.set $ox (i32.add (local.get $ox) (i32.const 1)))
                                    (br $oxNext)))
                                (local.set $t (i32.add (local.get $tap) (local.get $n)))
                                (v128.store (local.get $t) (f32x4.add (v128.load (local.get $t)) (local.get $a0)))
                                (v128.store offset=16 (local.get $t) (f32x4.add (v128.load offset=16 (local.get $t)) (local.get $a1)))
                                (v128.store offset=32 (local.get $t) (f32x4.add (v128.load offset=32 (local.get $t)) (local.get $a2)))
                                (v128.store offset=48 (local.get $t) (f32x4.add (v128.load offset=48 (local.get $t)) (local.get $a3)))
                                (local.set $n (i32.add (local.get $n) (i32.const 64)))
                                (br $nNext)))
                            ;; The rest four at a time.
                            (block $nDone
                              (loop $nNext
                                (br_if $nDone (i32.ge_u (local.get $n) (local.get $dyPixel)))
                                (local.set $a0 (v128.const i32x4 0 0 0 0))
                                (local.set $xp
                                  (i32.add (i32.add (local.get $xRow) (local.get $c))
                                    (i32.mul (i32.add (i32.sub (i32.mul (local.get $oxFirst) (local.get $sW)) (local.get $padL)) (local.get $kx))
                                      (local.get $pixel))))
                                (local.set $dp
                                  (i32.add (i32.add (local.get $dyRow) (local.get $n))
                                    (i32.mul (local.get $oxFirst) (local.get $dyPixel))))
                                (local.set $ox (local.get $oxFirst))
                                (block $oxDone
                                  (loop $oxNext
                                    (br_if $oxDone (i32.ge_s (local.get $ox) (local.get $oxLast)))
                                    (local.set $a0
                                      (f32x4.add (local.get $a0)
                                        (f32x4.mul (v128.load32_splat (local.get $xp)) (v128.load (local.get $dp)))))
                                    (local.set $xp (i32.add (local.get $xp) (local.get $step)))
                                    (local.set $dp (i32.add (local.get $dp) (local.get $dyPixel)))
                                    (local.set $ox (i32.add (local.get $ox) (i32.const 1)))
                                    (br $oxNext)))
                                (local.set $t (i32.add (local.get $tap) (local.get $n)))
                                (v128.store (local.get $t) (f32x4.add (v128.load (local.get $t)) (local.get $a0)))
                                (local.set $n (i32.add (local.get $n) (i32.const 16)))
                                (br $nNext)))
                            (local.set $c (i32.add (local.get $c) (i32.const 4)))
                            (br $cNext)))
                        (local.set $kx (i32.add (local.get $kx) (i32.const 1)))
                        (br $kxNext)))))
                (local.set $ky (i32.add (local.get $ky) (i32.const 1)))
                (br $kyNext)))
            (local.set $dyRow (i32.add (local.get $dyRow) (i32.mul (local.get $outW) (local.get $dyPixel))))
            (local.set $oy (i32.add (local.get $oy) (i32.const 1)))
            (br $oyNext)))
        (local.set $b (i32.add (local.get $b) (i32.const 1)))
        (br $batchNext))))

  ;; out[r][c] = x[r][c] + bias[c] for a rows x cols matrix (a bias added to channels-last outputs).
  (func (export "addChannels") (param $x i32) (param $bias i32) (param $out i32) (param $rows i32) (param $cols i32)
    (local $r i32) (local $c i32) (local $vectors i32) (local $row i32)
    (local.set $vectors (i32.shl (i32.and (local.get $cols) (i32.const -4)) (i32.const 2)))
    (local.set $row (i32.shl (local.get $cols) (i32.const 2)))
    (block $rowsDone
      (loop $rowNext
        (br_if $rowsDone (i32.ge_u (local.get $r) (local.get $rows)))
        (local.set $c (i32.const 0))
        (block $done
          (loop $next
            (br_if $done (i32.ge_u (local.get $c) (local.get $vectors)))
            (v128.store (i32.add (local.get $out) (local.get $c))
              (f32x4.add (v128.load (i32.add (local.get $x) (local.get $c)))
                (v128.load (i32.add (local.get $bias) (local.get $c)))))
            (local.set $c (i32.add (local.get $c) (i32.const 16)))
            (br $next)))
        (block $done
          (loop $next
            (br_if $done (i32.ge_u (local.get $c) (local.get $row)))
            (f32.store (i32.add (local.get $out) (local.get $c))
              (f32.add (f32.load (i32.add (local.get $x) (local.get $c)))
                (f32.load (i32.add (local.get $bias) (local.get $c)))))
            (local.set $c (i32.add (local.get $c) (i32.const 4)))
            (br $next)))
        (local.set $x (i32.add (local.get $x) (local.get $row)))
        (local.set $out (i32.add (local.get $out) (local.get $row)))
        (local.set $r (i32.add (local.get $r) (i32.const 1)))
        (br $rowNext))))
)
