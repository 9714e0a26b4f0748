package onnx

import (
	"bufio"
	"fmt"
	"io"
	"strings"
	"unicode"
)

// This file decodes the output of PP-OCRv4's recogniser: per time step, a
// softmax over 6625 classes: 0 is the CTC blank, 1..6623 are the lines of
// ppocr_keys_v1.txt, and the last is a space (PaddleOCR's
// use_space_char). Greedy decoding takes the best class per step, merges
// repeats and drops blanks.

// ctcDict is the recogniser's alphabet: index i >= 1 is dict[i-1].
type ctcDict []string

// readCTCDict reads a key file (one character per line) and appends the
// space class.
func readCTCDict(r io.Reader) (ctcDict, error) {
	var d ctcDict
	sc := bufio.NewScanner(r)
	for sc.Scan() {
		d = append(d, strings.TrimRight(sc.Text(), "\r\n"))
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("read character list: %w", err)
	}
	if len(d) == 0 {
		return nil, fmt.Errorf("read character list: empty")
	}
	return append(d, " "), nil
}

// eastAsian reports whether s is written in a script Amazon Rekognition's
// DetectText does not read (it reads Latin-script languages, Russian and
// Arabic): Han, kana, Hangul, Bopomofo, and the CJK punctuation and
// full-width forms that go with them.
func eastAsian(s string) bool {
	for _, r := range s {
		if unicode.In(r, unicode.Han, unicode.Hiragana, unicode.Katakana, unicode.Hangul, unicode.Bopomofo) ||
			(r >= 0x3000 && r <= 0x303f) || (r >= 0xff00 && r <= 0xffef) || (r >= 0xfe30 && r <= 0xfe6f) {
			return true
		}
	}
	return false
}

// eastAsianClasses marks the recogniser classes (index 0 is the blank)
// whose character is eastAsian.
func eastAsianClasses(d ctcDict) []bool {
	skip := make([]bool, len(d)+1)
	for i, s := range d {
		skip[i+1] = eastAsian(s)
	}
	return skip
}

// ctcChar is one decoded character: its text, probability and the time
// steps it spans (the first and last of its repeats).
type ctcChar struct {
	Text string
	Prob float32
	Step int
	End  int
}

// ctcGreedy decodes probs ([steps][classes], row-major). It returns nil
// when the class count does not match the dictionary.
//
// The recogniser is trained mostly on Chinese text, where spaces are rare,
// and often lets a word gap decode as blanks. So, besides spaces it emits,
// a space is inserted between two characters when the space class reached
// spaceFloor somewhere in the blank steps between them (within words it
// stays near 0; see the package tests). The inserted space's probability is
// P(blank)+P(space) at that step: the probability that no letter is there.
//
// A step whose best class is marked in skip (may be nil) reads as a blank:
// the recogniser is trained mostly on Chinese and reads bright blobs and
// textures in photos as single Han characters, while Rekognition's
// DetectText reads no East Asian script at all.
func ctcGreedy(probs []float32, steps, classes int, dict ctcDict, spaceFloor float32, skip []bool) []ctcChar {
	if classes != len(dict)+1 || len(probs) < steps*classes {
		return nil
	}
	space := classes - 1
	var out []ctcChar
	prev := -1
	var gap ctcChar // best space evidence since the last character
	for t := range steps {
		row := probs[t*classes : (t+1)*classes]
		best, bp := 0, row[0]
		for c, p := range row {
			if p > bp {
				best, bp = c, p
			}
		}
		if best < len(skip) && skip[best] {
			best = 0
		}
		if best == 0 && row[space] > gap.Prob {
			gap = ctcChar{Text: " ", Prob: row[space], Step: t, End: t}
		}
		if best != 0 && best == prev {
			out[len(out)-1].End = t
		}
		if best != 0 && best != prev {
			if best != space && len(out) > 0 && out[len(out)-1].Text != " " && spaceFloor > 0 && gap.Prob >= spaceFloor {
				g := probs[gap.Step*classes : (gap.Step+1)*classes]
				gap.Prob = g[0] + g[space]
				out = append(out, gap)
			}
			out = append(out, ctcChar{Text: dict[best-1], Prob: bp, Step: t, End: t})
			gap = ctcChar{}
		}
		prev = best
	}
	return out
}
