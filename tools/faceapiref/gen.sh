#!/usr/bin/env bash
# gen.sh regenerates internal/tfconv/testdata/face_recognition*.ref.json
# with face-api.js's own FaceRecognitionNet. Needs node; the tarball in
# $CACHE/packages (as `imagerec models install` leaves it).
set -euo pipefail
CACHE=${IMAGEREC_CACHE:-$HOME/.cache/imagerec}
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
T=$ROOT/internal/tfconv/testdata
R=$ROOT/tools/faceapiref/ref.mjs
M=$(mktemp -d)
trap 'rm -rf "$M"' EXIT
tar -xzf "$CACHE/packages/vladmandic-face-api-1.7.15.tgz" -C "$M" \
  package/package.json package/dist/face-api.esm.js package/model/face_recognition_model-weights_manifest.json \
  package/model/face_recognition_model.bin
# The bundle is an ES module in a package without "type": "module".
echo '{"type": "module"}' > "$M/package/dist/package.json"
(cd "$ROOT" && go test ./internal/tfconv -count=1 -run TestWriteRawPhoto -rawphoto "$M/astronaut.rgb" >/dev/null)
run() { out=$1; shift; node "$R" --pkg "$M/package" "$@" > "$T/$out.tmp" && mv "$T/$out.tmp" "$T/$out"; echo "wrote $T/$out"; }
run face_recognition.ref.json --seed 1
run face_recognition.astronaut.ref.json --photo testdata/images/astronaut.jpg --raw "$M/astronaut.rgb" --rawsize 512,512
