"""Cameras rendered with OpenGL on a headless EGL context (Mesa llvmpipe on the CPU, the
driver's GPU where there is one): RGB, CARLA planar depth and CARLA class ids of every
camera of a tick in one pass.

All cameras of a tick are stacked in one framebuffer with up to three colour attachments
(RGBA8, R32F planar depth, R8UI class; only those a tick asks for: an RGB-only render skips
~10 % of llvmpipe's work) and read back once per attachment; the static map mesh is
uploaded once, grouped in spatial chunks that each camera culls; actors are instanced per
kind and culled per camera. The same scene and cameras give bit-identical images.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Sequence

import numpy as np

from .actors import actor_template
from .culling import Chunks, build_chunks, frustum_planes, spheres_visible, visible_chunks
from .depth import FAR_PLANE_M
from .meshes import Mesh, with_face_normals
from .pose import Pose, world_matrix
from .scene import Actor, ActorKind, Weather, actor_matrices
from .shaders import ACTOR_VS, GEOMETRY_FS, SKY_FS, SKY_VS, STATIC_VS

NEAR_PLANE_M = 0.1      # Unreal's default near clip (10 cm)
_ATLAS_MAX_SIZE = 16384  # GL_MAX_TEXTURE_SIZE of llvmpipe and common GPUs
# CARLA camera axes (x forward, y right, z up) -> GL eye axes (x right, y up, -z forward)
_CARLA_TO_EYE = np.array([[0.0, 1.0, 0.0], [0.0, 0.0, 1.0], [-1.0, 0.0, 0.0]])
_VERTEX_FORMAT = ("3f 3f1 1u1 1u1 2x 3f", "in_pos", "in_color", "in_class", "in_material", "in_normal")
_INSTANCE_FORMAT = ("4f 4f 4f 3f1 1u1 1u1 3x/i", "in_row0", "in_row1", "in_row2", "in_paint",
                    "in_actor_class", "in_state")
_INSTANCE_DTYPE = np.dtype([("rows", "<f4", (3, 4)), ("paint", "u1", 3), ("cls", "u1"), ("state", "u1"),
                            ("pad", "u1", 3)])


class EGLUnavailable(RuntimeError):
    """No OpenGL 3.3 context could be created headlessly (missing libEGL / Mesa drivers)."""


@dataclass(frozen=True)
class CameraSpec:
    """A pinhole camera as sensor.camera.rgb: pose relative to its parent (x, y, z, roll,
    pitch, yaw; CARLA frame), image size and horizontal field of view in degrees."""
    name: str
    pose: tuple[float, float, float, float, float, float]
    width: int
    height: int
    fov: float = 90.0

    def __post_init__(self) -> None:
        if self.width < 1 or self.height < 1 or not 0.0 < self.fov < 180.0:
            raise ValueError(f"camera {self.name}: bad size {self.width}x{self.height} or fov {self.fov}")

    def intrinsics(self) -> np.ndarray:
        """3x3 K as carla-ros-bridge's CameraInfo: fx = fy = W / (2 tan(fov/2)), c = (W/2, H/2)."""
        f = self.width / (2.0 * math.tan(math.radians(self.fov) / 2.0))
        return np.array([[f, 0.0, self.width / 2.0], [0.0, f, self.height / 2.0], [0.0, 0.0, 1.0]])


@dataclass
class CameraImages:
    rgba: np.ndarray      # (H, W, 4) uint8, alpha 255 (read back as is: the cheapest format)
    depth: np.ndarray | None     # (H, W) float32 metres, planar along the optical axis, 1000 where nothing is hit
    semantic: np.ndarray | None  # (H, W) uint8 CARLA class ids
    # (depth / semantic are None when the render did not ask for them)

    @property
    def rgb(self) -> np.ndarray:
        """(H, W, 3) uint8, a strided view of `rgba` (np.ascontiguousarray for packed bytes)."""
        return self.rgba[..., :3]

    def copy(self) -> "CameraImages":
        return CameraImages(*(None if a is None else a.copy() for a in (self.rgba, self.depth, self.semantic)))


# the framebuffer's colour attachments, in shader output order: image, components, moderngl
# dtype, numpy dtype of the read-back
_TARGETS = (("rgb", 4, "f1", np.uint8), ("depth", 1, "f4", np.float32), ("semantic", 1, "u1", np.uint8))
CHANNELS = tuple(t[0] for t in _TARGETS)


def _attachments(channels) -> int:
    """How many of CHANNELS' attachments a render needs: up to the last one asked for (the
    fragment shader writes them at fixed locations; RGB is always drawn)."""
    unknown = set(channels) - set(CHANNELS)
    if unknown:
        raise ValueError(f"unknown camera channels {sorted(unknown)}: choose from {CHANNELS}")
    return max([1] + [CHANNELS.index(c) + 1 for c in channels])


@dataclass
class _Atlas:
    """Cameras stacked top to bottom in one framebuffer: a camera as wide as the atlas reads
    back as a contiguous block, so its images are views, not copies."""
    sizes: tuple[tuple[int, int], ...]
    origins: list[tuple[int, int]] = field(default_factory=list)
    width: int = 0
    height: int = 0

    def __post_init__(self) -> None:
        self.width = max(w for w, _ in self.sizes)
        for _, h in self.sizes:
            self.origins.append((0, self.height))
            self.height += h
        if self.height > _ATLAS_MAX_SIZE or self.width > _ATLAS_MAX_SIZE:
            raise ValueError(f"cameras of one tick need {self.width}x{self.height} pixels, more than "
                             f"{_ATLAS_MAX_SIZE} a side: render them in several calls")


def create_context():
    """A standalone headless OpenGL 3.3 context (moderngl, EGL)."""
    try:
        import moderngl
        return moderngl.create_standalone_context(backend="egl")
    except Exception as e:  # glcontext raises plain Exceptions naming the missing piece
        raise EGLUnavailable(f"cannot create a headless EGL OpenGL context: {e}") from e


def _projection(spec: CameraSpec) -> np.ndarray:
    """GL projection for a horizontal fov, flipped vertically so that row 0 read back is the
    top of the image."""
    tx = math.tan(math.radians(spec.fov) / 2.0)
    ty = tx * spec.height / spec.width
    n, f = NEAR_PLANE_M, FAR_PLANE_M
    return np.array([[1.0 / tx, 0.0, 0.0, 0.0],
                     [0.0, -1.0 / ty, 0.0, 0.0],
                     [0.0, 0.0, -(f + n) / (f - n), -2.0 * f * n / (f - n)],
                     [0.0, 0.0, -1.0, 0.0]])


def _gl(m: np.ndarray) -> bytes:
    """Row-major numpy matrix -> column-major float32 bytes for a GLSL uniform."""
    return np.ascontiguousarray(m.T, dtype=np.float32).tobytes()


def _lighting(weather: Weather) -> dict[str, object]:
    """Sun, ambient, sky and fog colours from carla.WeatherParameters-like values."""
    sun = weather.sun_direction()
    alt = weather.sun_altitude_angle
    cloud = min(max(weather.cloudiness, 0.0), 100.0) / 100.0
    day = float(np.clip((alt + 6.0) / 16.0, 0.0, 1.0))          # civil dusk -> full day
    low_sun = float(np.clip(alt / 30.0, 0.0, 1.0))
    sun_strength = 0.75 * day * (1.0 - 0.85 * cloud) * (0.35 + 0.65 * low_sun)
    sun_color = np.array([1.0, 0.93 + 0.05 * low_sun, 0.78 + 0.17 * low_sun]) * sun_strength
    # sky light: shaded facades stay readable, as under Unreal's sky light
    ambient = np.array([0.60, 0.62, 0.66]) * (0.10 + 0.90 * day) * (1.0 + 0.25 * cloud)
    clear_zenith, clear_horizon = np.array([0.22, 0.45, 0.80]), np.array([0.70, 0.80, 0.90])
    grey = np.array([0.62, 0.64, 0.66])
    zenith = (clear_zenith * (1 - cloud) + grey * 0.85 * cloud) * (0.05 + 0.95 * day)
    horizon = (clear_horizon * (1 - cloud) + grey * cloud) * (0.06 + 0.94 * day)
    fog = min(max(weather.fog_density, 0.0), 100.0) / 100.0
    return {
        "u_sun_dir": tuple(sun), "u_sun_color": tuple(sun_color), "u_ambient": tuple(ambient),
        "u_fog_color": tuple(horizon * (1 - 0.3 * fog) + grey * 0.3 * fog),
        "u_fog_k": 0.05 * fog, "u_fog_start": max(weather.fog_distance, 0.0),
        "u_zenith": tuple(zenith), "u_horizon": tuple(horizon), "u_sun_disc": day * (1.0 - cloud),
    }


class CameraRenderer:
    """Renders cameras over a static mesh (uploaded once) and per-tick actors. `chunk_size`
    (m) is the culling grid of the static mesh; triangles under 0.5 m^2 (markings, poles)
    are drawn up to `detail_distance` (m) from the camera. Pass `ctx` to share a context."""

    def __init__(self, static_mesh: Mesh, ctx=None, chunk_size: float = 32.0, detail_distance: float = 60.0):
        self._owns_ctx = ctx is None
        self.ctx = create_context() if ctx is None else ctx
        import moderngl
        self._moderngl = moderngl
        self.chunk_size = chunk_size
        self.detail_distance = detail_distance
        self._static_prog = self.ctx.program(vertex_shader=STATIC_VS, fragment_shader=GEOMETRY_FS)
        self._actor_prog = self.ctx.program(vertex_shader=ACTOR_VS, fragment_shader=GEOMETRY_FS)
        self._sky_prog = self.ctx.program(vertex_shader=SKY_VS, fragment_shader=SKY_FS)
        self._sky_vao = self.ctx.vertex_array(self._sky_prog, [])
        self._static: list = []          # vao, vbo, ibo of the map
        self._chunks: Chunks | None = None
        self._templates: dict[ActorKind, tuple] = {}     # kind -> template vbo, ibo
        self._instanced: dict[tuple[ActorKind, int], dict] = {}  # (kind, camera slot) -> vao, buffer
        self._fbo = None
        self._fbo_parts: list = []
        self._atlas: _Atlas | None = None
        self._readback: tuple | None = None
        self._submitted: tuple | None = None  # submit()'s arguments, rendered by result()
        self.set_static_mesh(static_mesh)

    # --- resources ---------------------------------------------------------------------

    def set_static_mesh(self, mesh: Mesh) -> None:
        """Upload the map mesh (once per map), its triangles grouped in spatial chunks."""
        _release(self._static)
        self._static, self._chunks = [], None
        if mesh.n_triangles:
            mesh, normals = with_face_normals(mesh)
            self._chunks = build_chunks(mesh, self.chunk_size)
            vbo = self.ctx.buffer(_pack_vertices(mesh, normals))
            ibo = self.ctx.buffer(self._chunks.triangles.tobytes())
            vao = self.ctx.vertex_array(self._static_prog, [(vbo, *_VERTEX_FORMAT)], index_buffer=ibo,
                                        index_element_size=4)
            self._static = [vao, vbo, ibo]

    def _instanced_vao(self, kind: ActorKind, slot: int, count: int) -> dict:
        """The instanced VAO of a kind for the camera in atlas slot `slot` (each camera draws
        its own visible instances), with room for at least `count` instances."""
        k = self._instanced.get((kind, slot))
        if k is not None and k["capacity"] >= count:
            return k
        if k is not None:
            _release([k["vao"], k["instances"]])
        if kind not in self._templates:
            t, normals = with_face_normals(actor_template(kind))
            self._templates[kind] = (self.ctx.buffer(_pack_vertices(t, normals)), self.ctx.buffer(t.triangles.tobytes()))
        vbo, ibo = self._templates[kind]
        capacity = max(16, 1 << (count - 1).bit_length())
        inst = self.ctx.buffer(reserve=capacity * _INSTANCE_DTYPE.itemsize)
        vao = self.ctx.vertex_array(self._actor_prog, [(vbo, *_VERTEX_FORMAT), (inst, *_INSTANCE_FORMAT)],
                                    index_buffer=ibo, index_element_size=4)
        k = {"vao": vao, "instances": inst, "capacity": capacity}
        self._instanced[(kind, slot)] = k
        return k

    def _framebuffer(self, atlas: _Atlas, n: int):
        if (self._atlas is None or (self._atlas.width, self._atlas.height) != (atlas.width, atlas.height)
                or len(self._fbo_parts) != n + 1):
            _release([self._fbo, *self._fbo_parts])
            size = (atlas.width, atlas.height)
            colour = [self.ctx.texture(size, c, dtype=d) for _, c, d, _ in _TARGETS[:n]]
            self._fbo_parts = [*colour, self.ctx.depth_renderbuffer(size)]
            self._fbo = self.ctx.framebuffer(colour, self._fbo_parts[-1])
        self._atlas = atlas
        return self._fbo

    def release(self) -> None:
        """Free this renderer's GL objects (and the context when the renderer created it)."""
        if self._owns_ctx:
            self.ctx.release()
            return
        _release([*self._static, self._fbo, *self._fbo_parts, self._sky_vao, self._static_prog, self._actor_prog,
                  self._sky_prog, *[b for t in self._templates.values() for b in t],
                  *[o for k in self._instanced.values() for o in (k["vao"], k["instances"])]])

    # RenderProcess's interface: close(); this renderer draws in result() and never goes away
    close = release
    asynchronous = False
    alive = True

    # --- rendering ---------------------------------------------------------------------

    def render(self, cameras: Sequence[CameraSpec], parent_pose: Pose | np.ndarray | None = None,
               actors: Sequence[Actor] = (), weather: Weather | None = None,
               reuse_buffers: bool = False, channels=CHANNELS) -> list[CameraImages]:
        """Render every camera (poses relative to `parent_pose`, a pose or 4x4 matrix; None =
        world) and return their images in the same order; `channels` (of CHANNELS) says which
        images are wanted (the others may be None). With `reuse_buffers` the images are
        views into arrays that the next call overwrites (saves ~2 ms of page faults a tick at
        3x1024x512): use it when the images are serialised before the next tick."""
        if not cameras:
            return []
        mgl = self._moderngl
        weather = weather or Weather()
        atlas = _Atlas(tuple((c.width, c.height) for c in cameras))
        fbo = self._framebuffer(atlas, _attachments(channels))
        instances = _ActorInstances(actors)
        light = _lighting(weather)
        for prog in (self._static_prog, self._actor_prog, self._sky_prog):
            for name, value in light.items():
                if name in prog:
                    prog[name].value = value
        self._sky_prog["u_far"].value = FAR_PLANE_M

        fbo.use()
        fbo.viewport = (0, 0, atlas.width, atlas.height)
        # only the depth buffer needs clearing: the sky pass writes every pixel left uncovered
        fbo.color_mask = _mask(fbo, False)
        fbo.clear(depth=1.0)
        fbo.color_mask = _mask(fbo, True)
        fbo.use()  # moderngl applies a one-attachment mask only when the framebuffer is bound
        self.ctx.enable(mgl.DEPTH_TEST)
        self.ctx.disable(mgl.CULL_FACE)  # ribbons and flat polygons are one-sided
        for slot, (spec, (ox, oy)) in enumerate(zip(cameras, atlas.origins)):
            fbo.viewport = (ox, oy, spec.width, spec.height)
            m = world_matrix(spec.pose, parent_pose)
            eye = m[:3, 3]
            view = _CARLA_TO_EYE @ m[:3, :3].T
            proj = _projection(spec)
            clip = proj[:, :3] @ view
            planes = frustum_planes(np.column_stack([clip, -clip @ eye + proj[:, 3]]))
            self.ctx.depth_func = "<"
            for prog in (self._static_prog, self._actor_prog):
                prog["u_view"].write(_gl(view))
                prog["u_cam"].value = tuple(eye)
                prog["u_proj"].write(_gl(proj))
            # actors first (they hide much of the map), then the map's chunks, nearest first
            for kind, data in instances.visible(planes, eye):
                k = self._instanced_vao(kind, slot, len(data))
                k["instances"].write(data.tobytes())
                k["vao"].render(mgl.TRIANGLES, instances=len(data))
            if self._chunks is not None:
                ch, vao = self._chunks, self._static[0]
                for c in visible_chunks(ch, planes, eye, self.detail_distance):
                    vao.render(mgl.TRIANGLES, vertices=3 * int(ch.count[c]), first=3 * int(ch.first[c]))
            # the sky last, at the far plane: shaded only where no geometry was drawn
            tx = math.tan(math.radians(spec.fov) / 2.0)
            self._sky_prog["u_eye_to_world"].write(_gl(view.T))
            self._sky_prog["u_tan_half"].value = (tx, -tx * spec.height / spec.width)
            self.ctx.depth_func = "<="
            self._sky_vao.render(mgl.TRIANGLES, vertices=3)
        return self._read(fbo, atlas, reuse_buffers)

    def submit(self, cameras: Sequence[CameraSpec], parent_pose: Pose | np.ndarray | None = None,
               actors: Sequence[Actor] = (), weather: Weather | None = None, channels=CHANNELS) -> None:
        """The calls of RenderProcess: here the render runs in `result()`, on this thread."""
        self._submitted = (cameras, parent_pose, actors, weather, channels)

    def result(self) -> list[CameraImages]:
        cameras, parent_pose, actors, weather, channels = self._submitted
        self._submitted = None
        return self.render(cameras, parent_pose, actors, weather, channels=channels)

    def _read(self, fbo, atlas: _Atlas, reuse: bool) -> list[CameraImages]:
        w, h = atlas.width, atlas.height
        n = len(fbo.color_attachments)
        bufs = self._readback
        if not reuse or bufs is None or bufs[0].shape[:2] != (h, w) or len(bufs) != n:
            bufs = tuple(np.empty((h, w, c) if c > 1 else (h, w), npd) for _, c, _, npd in _TARGETS[:n])
            self._readback = bufs if reuse else None
        vp = (0, 0, w, h)
        for i, (buf, (_, c, d, _)) in enumerate(zip(bufs, _TARGETS)):
            fbo.read_into(buf, viewport=vp, components=c, attachment=i, dtype=d)
        rgba, depth, cls = (*bufs, None, None)[:3]
        out = []
        for (cw, ch), (ox, oy) in zip(atlas.sizes, atlas.origins):
            s = np.s_[oy:oy + ch, ox:ox + cw]
            img = CameraImages(rgba[s], None if depth is None else depth[s], None if cls is None else cls[s])
            out.append(img if cw == w else img.copy())  # full-width rows are contiguous views
        return out


class _ActorInstances:
    """This tick's actors as per-instance records, with bounding spheres for culling."""

    def __init__(self, actors: Sequence[Actor]):
        self.kinds = np.array([a.kind.value for a in actors])
        mats = actor_matrices(actors)
        self.centers = mats[:, :3, 3]
        self.radii = np.array([np.linalg.norm(a.half_extents) for a in actors]) * 1.1  # templates overhang a little
        self.data = np.zeros(len(actors), _INSTANCE_DTYPE)
        if len(actors):
            self.data["rows"] = mats[:, :3, :]
            self.data["paint"] = [a.color for a in actors]
            self.data["cls"] = [a.semantic for a in actors]
            self.data["state"] = [int(a.light_state) for a in actors]

    def visible(self, planes: np.ndarray, eye: np.ndarray) -> list[tuple[ActorKind, np.ndarray]]:
        """Per kind, the records of the actors in the frustum, nearest first."""
        if not len(self.data):
            return []
        vis = spheres_visible(self.centers, self.radii, planes)
        order = np.argsort(np.linalg.norm(self.centers - eye, axis=1), kind="stable")
        order = order[vis[order]]
        out = []
        for kind in dict.fromkeys(self.kinds[order].tolist()):
            out.append((ActorKind(kind), self.data[order[self.kinds[order] == kind]]))
        return out


def _mask(fbo, on: bool):
    """A colour mask for every attachment of `fbo` (moderngl wants a bare 4-tuple for one)."""
    n = len(fbo.color_attachments)
    return (on,) * 4 if n == 1 else ((on,) * 4,) * n


def _release(objects: list) -> None:
    for o in objects:
        if o is not None:
            o.release()


def _pack_vertices(mesh: Mesh, normals: np.ndarray) -> bytes:
    v = np.zeros(len(mesh.vertices), np.dtype([("p", "<f4", 3), ("c", "u1", 3), ("k", "u1"), ("m", "u1"),
                                               ("pad", "u1", 2), ("n", "<f4", 3)]))
    v["p"], v["c"], v["k"], v["m"], v["n"] = mesh.vertices, mesh.colors, mesh.classes, mesh.materials, normals
    return v.tobytes()
